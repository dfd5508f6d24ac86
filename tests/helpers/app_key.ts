/** A GitHub App key pair: the PEM private key the App signs with, and the public key to verify. */
export interface AppKey {
  privateKeyPem: string;
  publicKey: CryptoKey;
}

/** Makes a fresh RS256 key pair, as GitHub issues for Apps (PKCS#8 PEM). */
export async function makeAppKey(): Promise<AppKey> {
  const pair = await crypto.subtle.generateKey(
    {
      name: "RSASSA-PKCS1-v1_5",
      modulusLength: 2048,
      publicExponent: new Uint8Array([1, 0, 1]),
      hash: "SHA-256",
    },
    true,
    ["sign", "verify"],
  );
  const der = new Uint8Array(await crypto.subtle.exportKey("pkcs8", pair.privateKey));
  const base64 = btoa(String.fromCharCode(...der)).replace(/.{64}/g, "$&\n");
  return {
    privateKeyPem: `-----BEGIN PRIVATE KEY-----\n${base64}\n-----END PRIVATE KEY-----\n`,
    publicKey: pair.publicKey,
  };
}
