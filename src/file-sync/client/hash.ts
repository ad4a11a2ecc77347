import { createSHA256 } from 'hash-wasm'

/** Incremental SHA-256, fed chunk by chunk so that no file has to fit in memory. */
export interface Sha256 {
  update(chunk: Uint8Array): void
  /** Lowercase hex, the form used in keys and URLs. */
  digest(): string
}

export const createSha256 = async (): Promise<Sha256> => {
  const hasher = await createSHA256()
  hasher.init()
  return {
    update: (chunk) => void hasher.update(chunk),
    digest: () => hasher.digest('hex'),
  }
}

/** Hashes a stream while passing it on unchanged; `digest()` is ready once the stream has ended. */
export const hashingStream = async (): Promise<{
  stream: TransformStream<Uint8Array, Uint8Array>
  digest: () => string
  bytes: () => number
}> => {
  const sha = await createSha256()
  let bytes = 0
  const stream = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      sha.update(chunk)
      bytes += chunk.byteLength
      controller.enqueue(chunk)
    },
  })
  return { stream, digest: () => sha.digest(), bytes: () => bytes }
}

export const sha256OfBlob = async (blob: Blob): Promise<string> => {
  const { stream, digest } = await hashingStream()
  await blob.stream().pipeThrough(stream).pipeTo(new WritableStream())
  return digest()
}
