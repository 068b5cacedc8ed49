// What a parse profile may say (DESIGN.md "Profiles"). Profiles are data, not
// code, so an admin can ship one for a new billing system as a JSON file; this
// schema is the gate: a bad regex, a pattern without the named group `value`
// or an unknown key is refused with the path to it, before anything is stored.
import { z } from 'zod';
import { DeskbridgeError } from '../errors';

export const PROFILE_FIELDS = ['ticket', 'departmentId', 'departmentName', 'event', 'customerEmail', 'customerName', 'subject'] as const;
export type ProfileField = (typeof PROFILE_FIELDS)[number];
/** Every pattern is matched case-insensitively, ^/$ at line ends, with Unicode semantics. */
export const PATTERN_FLAGS = 'imu';
export const EXTRACTOR_SOURCES = ['header', 'subject', 'body', 'fromAddress', 'fromName', 'toAddress'] as const;

const extractorSchema = z
  .object({
    from: z.enum(EXTRACTOR_SOURCES),
    name: z.string().min(1).optional(),
    pattern: z.string().min(1).optional(),
    map: z.record(z.string(), z.string()).optional(),
  })
  .strict()
  .superRefine((ex, ctx) => {
    if (ex.from === 'header' && !ex.name) {
      ctx.addIssue({ code: 'custom', path: ['name'], message: 'an extractor from "header" needs "name", the header to read' });
    }
    if (ex.from !== 'header' && ex.name) {
      ctx.addIssue({ code: 'custom', path: ['name'], message: `"name" is only for extractors from "header", not "${ex.from}"` });
    }
    if (ex.pattern !== undefined) {
      try {
        new RegExp(ex.pattern, PATTERN_FLAGS);
      } catch (err) {
        ctx.addIssue({ code: 'custom', path: ['pattern'], message: `"${ex.pattern}" is not a valid regular expression: ${(err as Error).message}` });
        return;
      }
      if (!/\(\?<value>/.test(ex.pattern)) {
        ctx.addIssue({ code: 'custom', path: ['pattern'], message: `"${ex.pattern}" has no named group (?<value>…)` });
      }
    }
  });

export type Extractor = z.infer<typeof extractorSchema>;

const fieldsShape = Object.fromEntries(PROFILE_FIELDS.map((f) => [f, z.array(extractorSchema).min(1).optional()])) as Record<
  ProfileField,
  z.ZodOptional<z.ZodArray<typeof extractorSchema>>
>;

const headerName = z.string().regex(/^[A-Za-z0-9-]+$/);

/** How a close (or reopen) is said to a system by mail: subject, headers, and command lines above the body (handlebars, one line each). */
const relayFormSchema = z
  .object({
    subject: z.string().min(1).optional(),
    headers: z.record(headerName, z.string()).optional(),
    firstLines: z.array(z.string().min(1)).min(1).optional(),
  })
  .strict();
export type RelayForm = z.infer<typeof relayFormSchema>;

export const profileSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, { message: 'expected a slug: a-z, 0-9, - and _' }),
    description: z.string().optional(),
    fields: z.object(fieldsShape).strict(),
    relaySubject: z.string().min(1).optional(),
    relayHeaders: z.record(headerName, z.string()).optional(),
    /** The display name of relays (handlebars; the address is the bridge's). */
    relayFrom: z.string().min(1).optional(),
    /** A close in the system's terms; `false`: the system cannot be closed by mail (the close is local and staff are told; words written with it still go, as correspondence). Absent: the close goes as correspondence. */
    relayClose: z.union([z.literal(false), relayFormSchema]).optional(),
    /** A reopen in the system's terms (a staff reply to a closed ticket, `ticket reopen`). Absent: the reply goes as correspondence, and `ticket reopen` sends nothing. */
    relayReopen: relayFormSchema.optional(),
  })
  .strict();

export type Profile = z.infer<typeof profileSchema>;

function issuePath(path: PropertyKey[]): string {
  return path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '');
}

/** Validates parsed JSON as a profile; `origin` names the file in the error. */
export function parseProfile(data: unknown, origin: string): Profile {
  const result = profileSchema.safeParse(data);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const where = issuePath(issue.path);
  const message =
    issue.code === 'unrecognized_keys'
      ? `unknown key "${issue.keys.join('", "')}"`
      : issue.message;
  throw new DeskbridgeError('EPROFILE', `${origin}: ${where ? `${where}: ` : ''}${message}`);
}
