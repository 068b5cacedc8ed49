// The bound on a MIME header block (mime-read.ts), which is also what a mail
// over the size limit keeps (decide.ts headerBlock, the readers of files and
// stdin): a module of its own so that the MTA pipe's short path
// (cli/ingest-pipe.ts) reads it without loading the MIME reader.
export const MAX_HEADER_BYTES = 256 * 1024;
