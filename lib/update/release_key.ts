/** The Ed25519 public key (raw, base64) that release checksums must be signed with. */
export const RELEASE_PUBLIC_KEY = "qUA47iy0hpaPkXJen2pTnu/hwZOawz2b8n3S4P45jE4=";
