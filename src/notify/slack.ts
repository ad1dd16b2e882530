import type { Notification } from './events.js';

const TITLES: Record<Notification['event'], string> = {
  started: 'Rollout started',
  stepPassed: 'Step passed',
  paused: 'Rollout paused',
  promoted: 'Rollout promoted',
  rolledBack: 'Rolled back',
  aborted: 'Rollout aborted',
};

const ICONS: Record<Notification['event'], string> = {
  started: ':arrow_forward:',
  stepPassed: ':white_check_mark:',
  paused: ':double_vertical_bar:',
  promoted: ':tada:',
  rolledBack: ':rotating_light:',
  aborted: ':octagonal_sign:',
};

/** The Slack incoming-webhook message: `text` (also the fallback for notifications) and Block Kit blocks. */
export function slackMessage(n: Notification, channel?: string): Record<string, unknown> {
  const title = `${ICONS[n.event]} ${TITLES[n.event]}: ${n.namespace}/${n.rollout}`;
  const fields: [string, string | number | undefined][] = [
    ['Step', n.step],
    ['Canary weight', n.weight === undefined ? undefined : `${n.weight}%`],
    ['Metric', n.metric],
    ['Value', n.value],
    ['Limit', n.limit],
    ['Reason', n.reason],
  ];
  return {
    ...(channel ? { channel } : {}),
    text: `${title} — ${n.message}`,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: `*${title}*\n${n.message}` } },
      {
        type: 'section',
        fields: fields
          .filter(([, value]) => value !== undefined)
          .map(([name, value]) => ({ type: 'mrkdwn', text: `*${name}*\n${String(value)}` })),
      },
      {
        type: 'context',
        elements: [
          {
            type: 'mrkdwn',
            text: `phase ${n.phase} · canary ${n.canaryRevision ?? '-'} · stable ${n.stableRevision ?? '-'} · ${n.at}`,
          },
        ],
      },
    ],
  };
}
