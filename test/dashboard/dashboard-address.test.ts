import { describe, expect, it } from 'vitest';
import { parseDashboardAddress } from '../../src/cli/commands/dashboard.js';

describe('stepwise dashboard --address', () => {
  it('listens on the loopback address and port given (0 = a free port)', () => {
    expect(parseDashboardAddress('127.0.0.1:8090')).toEqual({ host: '127.0.0.1', port: 8090 });
    expect(parseDashboardAddress('localhost:0')).toEqual({ host: '127.0.0.1', port: 0 });
  });

  it('refuses an address off loopback, naming the flag and the fix', () => {
    expect(() => parseDashboardAddress('0.0.0.0:8090')).toThrow(
      /--address "0.0.0.0:8090" is not a loopback address.*--address 127.0.0.1:8090/,
    );
  });

  it('refuses an address without a port', () => {
    expect(() => parseDashboardAddress('127.0.0.1')).toThrow(
      /is not HOST:PORT; write e.g. --address 127.0.0.1:8090/,
    );
  });
});
