/**
 * The page's side of the service worker (../sw/, built to `/sw.js`): registers it, makes sure it controls the page before any
 * `/files/...` URL is rendered (so the first load shows pictures too), and hands it the token
 * for the remote fallback by message, never in a URL.
 */
export interface FileServiceWorkerOptions {
  container: ServiceWorkerContainer
  scriptUrl?: string
  storeId: string
  getToken: (options?: { refresh?: boolean }) => Promise<string>
  /** How long to wait for the worker to take control before going on without it. */
  controlTimeoutMs?: number
}

export type ServiceWorkerMessage =
  | { type: 'file-sync/token'; storeId: string; token: string }
  /** `refresh`: the server refused the token the worker had (it expired): a new one, not the same. */
  | { type: 'file-sync/token-request'; storeId: string; refresh?: boolean }
  | { type: 'file-sync/claim' }

export const connectFileServiceWorker = async ({
  container,
  scriptUrl = '/sw.js',
  storeId,
  getToken,
  controlTimeoutMs = 5_000,
}: FileServiceWorkerOptions): Promise<{ controlled: boolean; sendToken(): Promise<void> }> => {
  // The worker asks when it has no token (it was restarted and lost its memory, or it serves
  // a request before this page told it): answer on the port it sends.
  container.addEventListener('message', (event: MessageEvent<ServiceWorkerMessage>) => {
    const message = event.data
    if (message?.type !== 'file-sync/token-request' || message.storeId !== storeId) return
    const port = event.ports[0]
    getToken({ refresh: message.refresh === true }).then(
      (token) => port?.postMessage({ type: 'file-sync/token', storeId, token } satisfies ServiceWorkerMessage),
      () => port?.postMessage({ type: 'file-sync/token', storeId, token: '' } satisfies ServiceWorkerMessage),
    )
  })

  const registration = await container.register(scriptUrl, { scope: '/', type: 'classic' })
  await container.ready
  if (!container.controller) {
    // A hard reload or the very first visit: the page is not controlled yet. Ask the active
    // worker to claim it rather than rendering images that would bypass it.
    const controlled = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, controlTimeoutMs)
      container.addEventListener(
        'controllerchange',
        () => {
          clearTimeout(timer)
          resolve()
        },
        { once: true },
      )
    })
    registration.active?.postMessage({ type: 'file-sync/claim' } satisfies ServiceWorkerMessage)
    await controlled
  }

  const sendToken = async () => {
    const token = await getToken()
    container.controller?.postMessage({ type: 'file-sync/token', storeId, token } satisfies ServiceWorkerMessage)
  }
  await sendToken().catch(() => {
    // Offline with no token yet: the worker will ask again when it needs one.
  })
  return { controlled: container.controller !== null, sendToken }
}
