// What a parse profile may say (DESIGN.md "Profiles"). Profiles are data, not
// code, so an admin can ship one for a new billing system as a JSON file; this
// schema is the gate: a bad regex, a pattern without the named group `value`
// or an unknown key is refused with the path to it, before anything is stored.
// zod loads at the first validation, not with this module: the pipeline reads
// stored profiles through the schema only when a system has a custom one.
import type { z } from 'zod';
import { DeskbridgeError } from '../errors';
import { loadOnce } from '../load-once';

export const PROFILE_FIELDS = ['ticket', 'departmentId', 'departmentName', 'event', 'customerEmail', 'customerName', 'subject'] as const;
export type ProfileField = (typeof PROFILE_FIELDS)[number];
/** Every pattern is matched case-insensitively, ^/$ at line ends, with Unicode semantics. */
export const PATTERN_FLAGS = 'imu';
export const EXTRACTOR_SOURCES = ['header', 'subject', 'body', 'fromAddress', 'fromName', 'toAddress'] as const;

/** The schemas, built over zod once it is loaded. */
function schemas(z: typeof import('zod').z) {
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

  const profileSchema = z
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
  return { extractorSchema, relayFormSchema, profileSchema };
}

/* eslint-disable @typescript-eslint/no-require-imports */
const loaded = loadOnce(() => schemas((require('zod') as typeof import('zod')).z));

type Schemas = ReturnType<typeof schemas>;
export type Extractor = z.infer<Schemas['extractorSchema']>;
export type RelayForm = z.infer<Schemas['relayFormSchema']>;
export type Profile = z.infer<Schemas['profileSchema']>;

function issuePath(path: PropertyKey[]): string {
  return path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '');
}

/** Validates parsed JSON as a profile; `origin` names the file in the error. */
export function parseProfile(data: unknown, origin: string): Profile {
  const result = loaded().profileSchema.safeParse(data);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const where = issuePath(issue.path);
  const message =
    issue.code === 'unrecognized_keys'
      ? `unknown key "${issue.keys.join('", "')}"`
      : issue.message;
  throw new DeskbridgeError('EPROFILE', `${origin}: ${where ? `${where}: ` : ''}${message}`);
}
