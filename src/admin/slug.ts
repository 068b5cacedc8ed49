// Slugs name systems and departments on the command line and in templates:
// short, lower-case, safe in a URL or a file name.
import { DeskbridgeError } from '../errors';

const SLUG_RE = /^[a-z0-9][a-z0-9_-]{0,63}$/;

export function checkSlug(value: string, what: string): string {
  if (!SLUG_RE.test(value)) {
    throw new DeskbridgeError(
      'EINVALID',
      `${what} "${value}" is not a valid slug (expected 1-64 of a-z, 0-9, - and _, starting with a letter or digit)`,
    );
  }
  return value;
}

// C0 and C1 controls (line breaks, ESC) and DEL: a name is shown on terminals and written into mail headers
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

export function checkName(value: string, option: string): string {
  const name = value.trim();
  if (name === '' || name.length > 200) {
    throw new DeskbridgeError('EINVALID', `${option}: "${value}" is not a valid name (expected 1-200 characters)`);
  }
  if (CONTROL.test(name)) throw new DeskbridgeError('EINVALID', `${option}: ${JSON.stringify(value)} is not a valid name (it holds a control character: a line break, ESC …)`);
  return name;
}
