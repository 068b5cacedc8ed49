// A relay (or close, or reopen) mail between its queueing and its first send.
// Everything about it is decided when the staff reply is stored (relay.ts):
// recipient, subject, Message-ID (the row's columns), and here its sender,
// threading headers, the profile's headers and the words rendered from the
// relay or close template, kept as the row's render input. The MIME bytes,
// with the attachments stored on the staff message it carries, are made by
// the worker that first claims it (store/outbox.ts renderClaimedRows) and
// stored before it is sent, as a notification's are, so every attempt sends
// the same mail. Composing inside the ingest was over half of a staff reply's
// relay work (profiled on the relay bench, issue 15), done on the thread
// that writes the batch, while the sending thread waits on the SMTP server
// for a quarter of its time. Needs no configuration: a process without
// templates, address or secret sends it as queued.
import type { Unrendered } from '../store/outbox';
import { composeMail } from './compose';

/** What a relay's row keeps until it is composed (outbox.render_input). */
export interface RelayRendering {
  relay: {
    from: { name: string; address: string };
    inReplyTo: string | null;
    headers: Record<string, string>;
    text: string;
    html: string;
    instance: string;
    /** How many attachments its source message carries: one that is gone must not send the mail without them. */
    attachments: number;
  };
}

/** The text body a relay not composed yet will carry, from its stored render input ('' for one that cannot be read). */
export function relayTextOf(renderInput: string): string {
  try {
    const text = (JSON.parse(renderInput) as Partial<RelayRendering> | null)?.relay?.text;
    return typeof text === 'string' ? text : '';
  } catch {
    return ''; // a damaged row: it echoes nothing (and is dead with the reason when a worker claims it)
  }
}

/** Composes a relay queued by queueRelay, from its row, its stored input and its source message (the attachments). */
export function composeRelay(row: Unrendered): Promise<Buffer> {
  const r = (row.input as Partial<RelayRendering> | null)?.relay;
  if ((row.kind !== 'relay' && row.kind !== 'close') || !r || typeof r.text !== 'string' || typeof r.from?.address !== 'string') throw new Error(`outbox row #${row.id} holds no relay to compose`);
  const attachments = row.source?.attachments ?? [];
  if (attachments.length < r.attachments) throw new Error(`the staff message it carries is gone with its ${r.attachments} attachment(s) (its ticket was deleted)`);
  return composeMail({
    from: r.from,
    to: row.to,
    subject: row.subject,
    messageId: row.messageId,
    inReplyTo: r.inReplyTo,
    references: r.inReplyTo ? [r.inReplyTo] : [],
    autoSubmitted: false,
    instance: r.instance,
    extraHeaders: r.headers,
    text: r.text,
    html: r.html,
    attachments: attachments.map((a) => ({ filename: a.filename, contentType: a.contentType, content: a.content, cid: a.contentId })),
  });
}
