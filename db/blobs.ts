// Typed arrays kept as BLOBs (Float32 or Int32, the machine's little-endian bytes): latent codes, labels, layouts.

type TypedCtor<T> = { new (b: ArrayBuffer, o: number, l: number): T };

/** The array's bytes as a Buffer over the same memory (no copy). */
export function toBlob(a: Float32Array | Int32Array): Buffer;
export function toBlob(a: Float32Array | Int32Array | null): Buffer | null;
export function toBlob(a: Float32Array | Int32Array | null): Buffer | null {
  return a ? Buffer.from(a.buffer, a.byteOffset, a.byteLength) : null;
}

/** A BLOB read back as a typed array. */
export function fromBlob<T extends Float32Array | Int32Array>(ctor: TypedCtor<T>, buf: Buffer): T;
export function fromBlob<T extends Float32Array | Int32Array>(
  ctor: TypedCtor<T>,
  buf: Buffer | null | undefined,
): T | null;
export function fromBlob<T extends Float32Array | Int32Array>(
  ctor: TypedCtor<T>,
  buf: Buffer | null | undefined,
): T | null {
  if (!buf) return null;
  // Copy: a Buffer's offset into its pool need not be aligned to 4 bytes.
  const copy = new Uint8Array(buf);
  return new ctor(copy.buffer, 0, copy.byteLength / 4);
}
