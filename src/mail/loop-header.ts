// The header every mail the bridge sends carries (DESIGN.md flow step 9), with
// the instance name: classify.ts knows the bridge's own mail by it. A module
// of its own so that composing a mail (outbound/compose.ts, also on the compose
// pool's thread) does not load the classifier and the parser behind it.
export const LOOP_HEADER = 'X-Deskbridge-Loop';
