import { describe, expect, it } from 'vitest';
import { refuseCommand, refuseHost, TOKEN_HEADER } from '../../src/dashboard/request-guard.js';

const settings = { host: '127.0.0.1:8090', token: 'a'.repeat(64) };
const own = { host: '127.0.0.1:8090', origin: 'http://127.0.0.1:8090', [TOKEN_HEADER]: 'a'.repeat(64) };

describe('dashboard command guard', () => {
  it("accepts a command from the dashboard's own page", () => {
    expect(refuseCommand(own, settings)).toBeUndefined();
  });

  it('refuses a command without the per-process token (a form posted by another site)', () => {
    const { [TOKEN_HEADER]: _token, ...withoutToken } = own;
    expect(refuseCommand(withoutToken, settings)).toMatch(/missing or wrong x-stepwise-token/);
    expect(refuseCommand({ ...own, [TOKEN_HEADER]: 'b'.repeat(64) }, settings)).toMatch(/wrong/);
  });

  it('refuses a command from another origin even with the token', () => {
    expect(refuseCommand({ ...own, origin: 'https://evil.example' }, settings)).toMatch(
      /Origin "https:\/\/evil.example" is not the dashboard's own page/,
    );
  });

  it('refuses every request whose Host is not the dashboard address (DNS rebinding)', () => {
    expect(refuseHost({ ...own, host: 'evil.example:8090' }, settings)).toMatch(
      /Host "evil.example:8090" is not the dashboard's address 127.0.0.1:8090/,
    );
    expect(refuseCommand({ ...own, host: 'evil.example:8090' }, settings)).toMatch(/Host/);
  });

  it('in-cluster (no address to hold the Host to) still needs the page token for a command', () => {
    const inCluster = { token: settings.token };
    const proxied = { ...own, host: 'stepwise.example.com', origin: 'https://stepwise.example.com' };
    expect(refuseHost(proxied, inCluster)).toBeUndefined();
    expect(refuseCommand(proxied, inCluster)).toBeUndefined();
    const { [TOKEN_HEADER]: _token, ...withoutToken } = proxied;
    expect(refuseCommand(withoutToken, inCluster)).toMatch(/missing or wrong x-stepwise-token/);
  });
});
