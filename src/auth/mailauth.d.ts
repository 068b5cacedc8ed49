// The parts of mailauth 4 deskbridge calls (the package ships no types).
declare module 'mailauth/lib/dkim/verify' {
  export interface DkimSignatureResult {
    signingDomain: string;
    selector: string;
    status: { result: string; comment?: string; aligned?: string | false; underSized?: number };
    canonBodyLengthLimited?: boolean;
  }
  export function dkimVerify(input: Buffer, options: { resolver?: (name: string, rrtype: string) => Promise<unknown>; minBitLength?: number }): Promise<{ headerFrom: string[]; results: DkimSignatureResult[] }>;
}
declare module 'mailauth/lib/dmarc' {
  export function dmarc(options: {
    headerFrom: string;
    spfDomains: string[];
    dkimDomains: Array<{ id?: string; domain: string; aligned?: string | false; underSized?: number }>;
    resolver?: (name: string, rrtype: string) => Promise<unknown>;
  }): Promise<false | { status: { result: string }; domain: string; error?: string }>;
}
declare module 'mailauth/lib/dkim/sign' {
  export function dkimSign(input: Buffer | string, options: { signTime?: Date; signatureData: Array<{ signingDomain: string; selector: string; privateKey: string | Buffer; canonicalization?: string; maxBodyLength?: number }>; headerList?: string[] }): Promise<{ signatures: string; errors: unknown[] }>;
}
