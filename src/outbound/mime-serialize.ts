// Writes out a mail tree that nodemailer's MailComposer compiled, in one
// synchronous pass. MimeNode.build() streams the tree: a PassThrough per
// node, stream.pipeline (an AbortController and, when it finishes, a
// DOMException), transform streams for the encodings and a setImmediate
// between parts. Profiled on a CLI ingest with notifications on, that
// machinery took 1.3 of the 1.5 ms a notification cost to compose, the
// largest single item on the main thread. The bytes are nodemailer's all the
// same: the header block is the node's own buildHeaders(), each body goes
// through the very encoder MimeNode pipes it through (driven by hand: its
// transform and flush steps are synchronous; qp.wrap(qp.encode()) is not the
// same, it differs where a body ends in whitespace), and the walk follows
// MimeNode.stream() — the test compares the two byte for byte. A tree this
// walk does not cover (streamed or linked content, a raw node, transforms, a
// newline conversion) returns null, and the caller builds it the streaming way.
import type MimeNode from 'nodemailer/lib/mime-node';
import { loadOnce } from '../load-once';
import { nodemailerPart } from '../vendor';
import type { Transform } from 'node:stream';

// at the first body written (mime-build.ts says why)
const base64 = loadOnce(() => nodemailerPart<typeof import('nodemailer/lib/base64')>('base64', 'base64'));
const qp = loadOnce(() => nodemailerPart<typeof import('nodemailer/lib/qp')>('qp', 'qp'));

/** The parts of a MimeNode this walk reads; most are documented on the class, the underscored ones say whether the tree streams in ways this walk does not follow. */
interface Node {
  childNodes: Node[];
  content?: unknown;
  contentType?: string;
  multipart?: string | false;
  boundary?: string | false;
  newline?: string;
  _raw?: unknown;
  _transforms?: unknown[];
  _processFuncs?: unknown[];
  getHeader(key: string): string | undefined;
  buildHeaders(): string;
}

/** Whether the walk below writes this node (and its children) exactly as MimeNode.stream() would. */
function plain(node: Node): boolean {
  if (node._raw || node._transforms?.length || node._processFuncs?.length || node.newline) return false;
  const c = node.content;
  if (c !== undefined && c !== null && c !== '' && typeof c !== 'string' && !Buffer.isBuffer(c)) return false; // a stream, a path, a URL, an error
  return node.childNodes.every(plain);
}

/** Runs `bytes` through an encoder's transform and flush steps, as one chunk (MimeNode pipes the content in as one). */
function encodeInto(encoder: Transform, bytes: Buffer, out: Buffer[]): void {
  const fail = (err?: Error | null) => {
    if (err) throw err;
  };
  encoder.push = (chunk: unknown, enc?: BufferEncoding) => {
    if (chunk !== null && chunk !== undefined) out.push(typeof chunk === 'string' ? Buffer.from(chunk, enc) : (chunk as Buffer));
    return true;
  };
  encoder._transform(bytes, 'buffer' as BufferEncoding, fail); // 'buffer': what a stream hands a transform for Buffer chunks
  encoder._flush!(fail);
}

/** A part's body in its transfer encoding, through the encoder MimeNode pipes it through (7bit and 8bit as they are). */
export function writeBody(bytes: Buffer, encoding: string, contentType: string, out: Buffer[]): void {
  if (encoding === 'base64') encodeInto(new (base64().Encoder)(), bytes, out);
  else if (encoding === 'quoted-printable') encodeInto(new (qp().Encoder)({ binary: !/^text\//i.test(contentType) }), bytes, out);
  else out.push(bytes);
}

function write(node: Node, out: Buffer[]): void {
  out.push(Buffer.from(`${node.buildHeaders()}\r\n\r\n`)); // sets contentType, multipart and boundary too
  // buildHeaders() set the header to getTransferEncoding()'s answer, which scans the content: read it rather than scan again
  const encoding = String(node.getHeader('Content-Transfer-Encoding') ?? '').toLowerCase().trim();
  const content = node.content as string | Buffer | undefined;
  if (content) writeBody(typeof content === 'string' ? Buffer.from(content) : content, encoding, node.contentType ?? '', out);
  if (!node.multipart) return;
  node.childNodes.forEach((child, i) => {
    out.push(Buffer.from(`${i > 0 ? '\r\n' : ''}--${node.boundary}\r\n`));
    write(child, out);
  });
  out.push(Buffer.from(`\r\n--${node.boundary}--\r\n`));
}

/** The message a compiled MailComposer tree stands for, or null when it must be built by streaming (see above). */
export function serializeMime(root: MimeNode): Buffer | null {
  const node = root as unknown as Node;
  if (!plain(node)) return null;
  const out: Buffer[] = [];
  write(node, out);
  const message = Buffer.concat(out);
  // MimeNode.createReadStream ends the message with a line break if it does not end with one
  const last = message.length ? message[message.length - 1] : undefined;
  return last === 0x0a ? message : Buffer.concat([message, Buffer.from(last === 0x0d ? '\n' : '\r\n')]);
}

