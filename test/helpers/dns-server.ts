// A tiny DNS server on loopback (UDP) that answers TXT questions from a zone,
// for tests of DESKBRIDGE_DNS: the resolver must really ask the server it is
// given. Only what a TXT lookup needs of RFC 1035: one question, TXT answers,
// NXDOMAIN for an unknown name, SERVFAIL for a name mapped to 'SERVFAIL'.
import { createSocket } from 'node:dgram';
import type { Zone } from './dkim';

function readName(msg: Buffer, offset: number): { name: string; end: number } {
  const labels: string[] = [];
  let i = offset;
  while (msg[i]! > 0) {
    labels.push(msg.subarray(i + 1, i + 1 + msg[i]!).toString('latin1'));
    i += msg[i]! + 1;
  }
  return { name: labels.join('.').toLowerCase(), end: i + 1 };
}

function txtRdata(value: string): Buffer {
  const chunks: Buffer[] = [];
  for (let i = 0; i < value.length || i === 0; i += 255) {
    const part = Buffer.from(value.slice(i, i + 255), 'latin1');
    chunks.push(Buffer.from([part.length]), part);
  }
  return Buffer.concat(chunks);
}

export async function startDnsServer(zone: Zone): Promise<{ address: string; asked: string[]; close(): Promise<void> }> {
  const socket = createSocket('udp4');
  const asked: string[] = [];
  socket.on('message', (msg, peer) => {
    const { name, end } = readName(msg, 12);
    const question = msg.subarray(12, end + 4);
    asked.push(name);
    const value = zone[name];
    const rcode = value === 'SERVFAIL' ? 2 : value === undefined ? 3 : 0;
    const answers = rcode === 0 ? (Array.isArray(value) ? value : [value as string]).map((v) => txtRdata(v)) : [];
    const header = Buffer.alloc(12);
    msg.copy(header, 0, 0, 2); // the id
    header.writeUInt16BE(0x8180 | rcode, 2); // response, recursion desired and available
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(answers.length, 6);
    const records = answers.map((rdata) => {
      const rr = Buffer.alloc(12);
      rr.writeUInt16BE(0xc00c, 0); // the name: a pointer to the question's
      rr.writeUInt16BE(16, 2); // TXT
      rr.writeUInt16BE(1, 4); // IN
      rr.writeUInt32BE(60, 6);
      rr.writeUInt16BE(rdata.length, 10);
      return Buffer.concat([rr, rdata]);
    });
    socket.send(Buffer.concat([header, question, ...records]), peer.port, peer.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return { address: `127.0.0.1:${socket.address().port}`, asked, close: () => new Promise<void>((resolve) => socket.close(() => resolve())) };
}
