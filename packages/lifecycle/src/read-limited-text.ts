/**
 * A fetch response's body as text, failing once it passes `maxBytes` (a
 * declared Content-Length past it fails before anything is read), so a
 * misbehaving peer cannot fill the memory of the process that asked. Shared
 * by the metrics scraper and the Pact Broker client: both read answers from
 * servers they do not control.
 */
export async function readLimitedText(response: Response, maxBytes: number, tooBig: () => Error): Promise<string> {
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  if (declared > maxBytes) {
    await response.body?.cancel();
    throw tooBig();
  }
  if (response.body === null) return '';
  const decoder = new TextDecoder();
  let text = '';
  let bytes = 0;
  for await (const chunk of response.body) {
    bytes += chunk.byteLength;
    // Throwing out of the loop cancels the stream.
    if (bytes > maxBytes) throw tooBig();
    text += decoder.decode(chunk, { stream: true });
  }
  return text + decoder.decode();
}
