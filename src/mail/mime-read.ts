// Runs mailparser over one mail and also keeps what simpleParser throws away:
// the MIME tree. Decisions that used to grep the raw bytes (is there a
// delivery-status part? which charsets could not be decoded?) are read off
// the parsed structure instead, so a body that merely quotes a
// "Content-Type: message/delivery-status" line, or the word "charset=foo",
// decides nothing. The tree is mailparser's own (`parser.tree`, which it
// builds for its text assembly); reading it saves a second MIME pass, at the
// price of depending on a field mailparser does not document — the tests on
// bounces and charsets fail loudly if a mailparser update moves it.
//
// The limits on a mail's shape are applied here too: mailsplit refuses a
// header block over MAX_HEADER_BYTES and more than MAX_PARTS parts while it
// reads; nesting depth and the number of attachments are checked on the tree.
import type Libmime from 'libmime';
import type { AddressObject, AttachmentStream, HeaderLines, Headers, MessageText } from 'mailparser';
import { DeskbridgeError } from '../errors';
import { loadOnce } from '../load-once';
import { MAX_HEADER_BYTES } from './header-bound'; // per MIME header block; the same bound a too-large mail's kept headers have
import { vendored } from '../vendor';

/* eslint-disable @typescript-eslint/no-require-imports */
const libmime = loadOnce(() => vendored('mail', () => require('libmime') as typeof Libmime, 'libmime'));
const mailparser = loadOnce(() => vendored('mail', () => require('mailparser') as typeof import('mailparser'), 'mailparser'));

/** Loads mailparser now (parse-mail.ts loadParser): the first mail does not wait for it. */
export function loadMimeReader(): void {
  libmime();
  mailparser();
}

export const MAX_PARTS = 1_000; // MIME parts per mail; real mail has tens at most
export const MAX_DEPTH = 32; // MIME nesting; forwards of forwards reach about 10
export const MAX_ATTACHMENTS = 500; // attachments stored per mail (the corpus's largest real one has 328)

export interface ReadAttachment {
  filename?: string;
  contentType: string;
  size?: number;
  checksum?: string;
  contentId?: string;
  content: Buffer;
}

export interface ReadMail {
  headers: Headers;
  headerLines: HeaderLines;
  text: string | undefined;
  html: string | false | undefined;
  attachments: ReadAttachment[];
  from?: AddressObject;
  to?: AddressObject | AddressObject[];
  cc?: AddressObject | AddressObject[];
  subject?: string;
  messageId?: string;
  inReplyTo?: string;
  references?: string | string[];
  /** The MIME type of every part, depth first. */
  partTypes: string[];
  /** The decoded text of each message/delivery-status part that is not inside an attached message (message/rfc822). */
  deliveryStatus: string[];
  /** Declared charsets of parts that mailparser could not decode (decoded as UTF-8 with replacement instead). */
  unknownCharsets: string[];
}

interface TreeNode {
  contentType?: string;
  charset?: string;
  children?: TreeNode[];
}

const DELIVERY_STATUS = new Set(['message/delivery-status', 'message/global-delivery-status']);
const ENCLOSED_MESSAGE = new Set(['message/rfc822', 'message/global']);

function limitError(message: string): DeskbridgeError {
  return new DeskbridgeError('ELIMIT', message);
}

/** The parse with the tree kept; rejects with ELIMIT when the mail's shape is past a limit. */
export function readMime(raw: Buffer): Promise<ReadMail> {
  return new Promise((resolve, reject) => {
    const { MailParser } = mailparser();
    const parser = new MailParser({
      skipTextToHtml: true,
      skipTextLinks: true,
      skipImageLinks: true,
      keepCidLinks: true,
      keepDeliveryStatus: true, // as an attachment: its fields are read per recipient (bounce-detect.ts)
      maxHeadSize: MAX_HEADER_BYTES,
      maxChildNodes: MAX_PARTS,
    } as ConstructorParameters<typeof MailParser>[0]);
    let settled = false;
    const fail = (err: Error & { code?: string }) => {
      if (settled) return;
      settled = true;
      if (err.code === 'EMAXLEN') {
        reject(limitError(/header/i.test(err.message) ? `a MIME header block is over the limit of ${MAX_HEADER_BYTES} bytes` : `more than the limit of ${MAX_PARTS} MIME parts`));
      } else reject(err);
    };
    let headers: Headers = new Map();
    let headerLines: HeaderLines = [];
    let text: string | undefined;
    let html: string | false | undefined;
    const attachments: ReadAttachment[] = [];
    parser.on('error', fail);
    parser.on('headers', (h: Headers) => {
      headers = h;
      headerLines = (parser as unknown as { headerLines: HeaderLines }).headerLines ?? [];
    });
    parser.on('data', (data: AttachmentStream | MessageText) => {
      if (data.type === 'text') {
        text = data.text;
        html = data.html;
        return;
      }
      const chunks: Buffer[] = [];
      data.content.on('data', (c: Buffer) => chunks.push(c));
      data.content.on('end', () => {
        const type = (data as { contentType?: unknown }).contentType; // a broken Content-Type can come out as a non-string
        attachments.push({ ...(data as unknown as ReadAttachment), contentType: typeof type === 'string' && type ? type : 'application/octet-stream', content: Buffer.concat(chunks) });
        data.release?.();
      });
    });
    parser.on('end', () => {
      if (settled) return;
      try {
        const shape = walk((parser as unknown as { tree?: TreeNode }).tree);
        if (shape.depth > MAX_DEPTH) throw limitError(`MIME parts nested ${shape.depth} deep, over the limit of ${MAX_DEPTH}`);
        if (attachments.length > MAX_ATTACHMENTS) throw limitError(`${attachments.length} attachments, over the limit of ${MAX_ATTACHMENTS}`);
        // keepDeliveryStatus made each delivery-status part an attachment, in tree order: pair them up
        const statusParts = attachments.filter((a) => DELIVERY_STATUS.has(a.contentType.toLowerCase()));
        const deliveryStatus = shape.statusEnclosed.flatMap((enclosed, i) => (enclosed || !statusParts[i] ? [] : [statusParts[i]!.content.toString('utf8')]));
        settled = true;
        const get = <T>(key: string) => headers.get(key) as T | undefined;
        resolve({
          headers,
          headerLines,
          text,
          html,
          attachments,
          from: get('from'),
          to: get('to'),
          cc: get('cc'),
          subject: get('subject'),
          messageId: get('message-id'),
          inReplyTo: get('in-reply-to'),
          references: get('references'),
          partTypes: shape.types,
          deliveryStatus,
          unknownCharsets: shape.unknownCharsets,
        });
      } catch (err) {
        fail(err as Error);
      }
    });
    parser.end(raw);
  });
}

/** Depth first over the tree, without recursion (the depth is what is being measured). */
function walk(root: TreeNode | undefined) {
  const types: string[] = [];
  const statusEnclosed: boolean[] = [];
  const unknown = new Set<string>();
  let depth = 0;
  const stack: Array<{ node: TreeNode; level: number; enclosed: boolean }> = root ? [{ node: root, level: 1, enclosed: false }] : [];
  while (stack.length > 0) {
    const { node, level, enclosed } = stack.pop()!;
    const type = (typeof node.contentType === 'string' ? node.contentType : 'text/plain').toLowerCase();
    types.push(type);
    depth = Math.max(depth, level);
    if (DELIVERY_STATUS.has(type)) statusEnclosed.push(enclosed);
    if (typeof node.charset === 'string' && !/^(utf-?8|us-?ascii|ascii)$/i.test(node.charset) && !libmime().createDecodeStream(node.charset).supported) unknown.add(node.charset.toLowerCase());
    const children = node.children ?? [];
    for (let i = children.length - 1; i >= 0; i--) stack.push({ node: children[i]!, level: level + 1, enclosed: enclosed || ENCLOSED_MESSAGE.has(type) });
  }
  return { types, statusEnclosed, depth, unknownCharsets: [...unknown] };
}
