// How a row queued unrendered becomes its bytes (store/outbox.ts renderClaimedRows,
// and the preview of `outbox show --raw`), by its kind: a staff notification
// is rendered from the templates with this process's address and secret
// (notify.ts); a relay or close was rendered when it was queued and is only
// composed (relay-mail.ts), which needs no configuration.
import { DeskbridgeError } from '../errors';
import type { Render } from '../store/outbox';
import { notificationRenderer, type Outbound } from './notify';
import { composeRelay } from './relay-mail';

export const NO_OUTBOUND = 'a staff notification is rendered as it is sent, and this process has no DESKBRIDGE_ADDRESS and DESKBRIDGE_SECRET to render it with';

/** The renderer of every kind queued unrendered; without `outbound` a notification waits (ECONFIG) and a relay is composed all the same. */
export function outboxRenderer(outbound: Outbound | null | undefined, noOutbound = NO_OUTBOUND): Render {
  const notification = outbound ? notificationRenderer(outbound) : null;
  return async (row) => {
    if (row.kind === 'relay' || row.kind === 'close') return composeRelay(row);
    if (!notification) throw new DeskbridgeError('ECONFIG', noOutbound);
    return notification(row);
  };
}
