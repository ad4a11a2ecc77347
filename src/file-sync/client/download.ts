import type { LocalFileStorage, StoredFile } from './local-file-storage.ts'
import type { RemoteFileStorage } from './remote-file-storage.ts'

/**
 * Downloads `hash` from the server into `local`, continuing what an interrupted try kept there
 * (a Range request from its end), unless its bytes are there already (put back, or saved by
 * another file meanwhile). `onProgress` hears how many bytes the file has so far.
 * The page calls this when its LocalFileStorage cannot download by itself; the files worker
 * calls it for its own downloads.
 */
export const downloadInto = async (
  local: Pick<LocalFileStorage, 'read' | 'partialSize' | 'receive'>,
  remote: Pick<RemoteFileStorage, 'download'>,
  hash: string,
  { signal, onProgress }: { signal?: AbortSignal | undefined; onProgress?: ((bytes: number) => void) | undefined } = {},
): Promise<StoredFile> => {
  const here = await local.read(hash)
  if (here) return { hash, size: here.size }
  const kept = await local.partialSize(hash)
  const { body, from } = await remote.download(hash, { signal, from: kept })
  return local.receive(hash, onProgress ? body.pipeThrough(countedFrom(from, onProgress)) : body, { offset: from, signal })
}

/** Passes a download through, reporting the bytes the file then has (it starts at `from`). */
const countedFrom = (from: number, report: (bytes: number) => void) => {
  let received = from
  return new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      received += chunk.byteLength
      report(received)
      controller.enqueue(chunk)
    },
  })
}
