import { afterEach, describe, expect, test } from 'vitest'
import { connectFileServiceWorker, type FileServiceWorkerOptions, type ServiceWorkerMessage } from '../../src/file-sync/client/file-service-worker.ts'
import { waitFor } from '../support/wait.ts'

/** A worker as the page sees it: something to post messages to. */
const fakeWorker = () => {
  const received: ServiceWorkerMessage[] = []
  return { received, postMessage: (message: ServiceWorkerMessage) => void received.push(message) }
}

/** The page's `navigator.serviceWorker`, with a worker that takes control when told to claim. */
class FakeContainer extends EventTarget {
  controller: ReturnType<typeof fakeWorker> | null = null
  readonly active = fakeWorker()
  readonly registrations: Array<{ scriptUrl: string; options: RegistrationOptions | undefined }> = []
  readonly ready = Promise.resolve()

  constructor({ claims }: { claims: boolean }) {
    super()
    if (!claims) return
    const postToActive = this.active.postMessage
    this.active.postMessage = (message) => {
      postToActive(message)
      if (message.type !== 'file-sync/claim') return
      this.controller = fakeWorker()
      this.dispatchEvent(new Event('controllerchange'))
    }
  }

  async register(scriptUrl: string, options?: RegistrationOptions) {
    this.registrations.push({ scriptUrl, options })
    return { active: this.active }
  }
}

const channels: MessageChannel[] = []

afterEach(() => {
  for (const channel of channels.splice(0)) {
    channel.port1.close()
    channel.port2.close()
  }
})

const connect = (container: FakeContainer, options: Partial<FileServiceWorkerOptions> = {}) =>
  connectFileServiceWorker({
    // The fake has only the members this module uses: cast once, at the boundary.
    container: container as unknown as ServiceWorkerContainer,
    storeId: 'store-1',
    getToken: async () => 'token-1',
    controlTimeoutMs: 50,
    ...options,
  })

/** Asks the page for the token the way the worker does: with a port to answer on. */
const requestToken = async (container: FakeContainer, storeId: string): Promise<ServiceWorkerMessage | undefined> => {
  const channel = new MessageChannel()
  channels.push(channel)
  const answers: ServiceWorkerMessage[] = []
  channel.port2.onmessage = (event: MessageEvent<ServiceWorkerMessage>) => void answers.push(event.data)
  const request: ServiceWorkerMessage = { type: 'file-sync/token-request', storeId }
  container.dispatchEvent(new MessageEvent('message', { data: request, ports: [channel.port1] }))
  await waitFor(() => answers.length > 0, 200).catch(() => {})
  return answers[0]
}

describe('connectFileServiceWorker', () => {
  test('registers the worker for the whole origin and hands the token to the worker in control', async () => {
    const container = new FakeContainer({ claims: false })
    container.controller = fakeWorker()
    const connection = await connect(container)
    expect(container.registrations).toEqual([{ scriptUrl: '/sw.js', options: { scope: '/', type: 'classic' } }])
    expect(connection.controlled).toBe(true)
    expect(container.active.received).toEqual([])
    expect(container.controller.received).toEqual([{ type: 'file-sync/token', storeId: 'store-1', token: 'token-1' }])
  })

  test('asks the active worker to claim an uncontrolled page, and waits until it has', async () => {
    const container = new FakeContainer({ claims: true })
    const connection = await connect(container, { controlTimeoutMs: 60_000 })
    expect(container.active.received).toEqual([{ type: 'file-sync/claim' }])
    expect(connection.controlled).toBe(true)
    expect(container.controller?.received).toEqual([{ type: 'file-sync/token', storeId: 'store-1', token: 'token-1' }])
  })

  test('goes on without the worker when it does not take control in time', async () => {
    const connection = await connect(new FakeContainer({ claims: false }), { controlTimeoutMs: 10 })
    expect(connection.controlled).toBe(false)
    await expect(connection.sendToken()).resolves.toBeUndefined()
  })

  test('does not fail when there is no token to send yet', async () => {
    const container = new FakeContainer({ claims: false })
    container.controller = fakeWorker()
    const connection = await connect(container, { getToken: () => Promise.reject(new TypeError('fetch failed')) })
    expect(connection.controlled).toBe(true)
    expect(container.controller.received).toEqual([])
  })

  test('answers a token request for its store on the port the worker sent', async () => {
    const container = new FakeContainer({ claims: false })
    container.controller = fakeWorker()
    await connect(container)
    expect(await requestToken(container, 'store-1')).toEqual({ type: 'file-sync/token', storeId: 'store-1', token: 'token-1' })
    expect(await requestToken(container, 'another-store')).toBeUndefined()
  })

  test('answers with an empty token when it cannot get one, so the worker does not wait', async () => {
    const container = new FakeContainer({ claims: false })
    container.controller = fakeWorker()
    await connect(container, { getToken: () => Promise.reject(new TypeError('fetch failed')) })
    expect(await requestToken(container, 'store-1')).toEqual({ type: 'file-sync/token', storeId: 'store-1', token: '' })
  })

  test('sends a new token to the worker when asked to', async () => {
    const container = new FakeContainer({ claims: false })
    container.controller = fakeWorker()
    let token = 'token-1'
    const connection = await connect(container, { getToken: async () => token })
    token = 'token-2'
    await connection.sendToken()
    expect(container.controller.received.map((message) => message.type === 'file-sync/token' && message.token)).toEqual(['token-1', 'token-2'])
  })
})
