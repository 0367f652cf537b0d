/**
 * The page: picks a backend, loads the export (model.json + model.safetensors next to it, or the URL
 * in ?model=), and draws grids of samples. Query parameters: backend, model, seed, class, steps, count.
 * `window.epgDemo` exposes the same generation to the headless-browser test.
 */
import { chooseBackend, type BrowserBackend } from './backends';
import { generate, type GenerateOptions, type Generated } from './generate';
import { loadModel, type LoadedModel } from './model';

export interface DemoApi {
  /** Resolves once the backend and model are ready; rejects with the message the page shows. */
  readonly ready: Promise<{ backend: BrowserBackend; numClasses: number; imageSize: number; channels: number }>;
  generate(o: GenerateOptions): Promise<{ pixels: number[]; ms: number; backend: BrowserBackend }>;
}

declare global {
  interface Window {
    epgDemo: DemoApi;
  }
}

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const params = new URLSearchParams(location.search);

function showError(message: string): void {
  const el = $('error');
  el.textContent = message;
  el.hidden = false;
  $<HTMLButtonElement>('generate').disabled = true;
}

async function fetchBytes(url: URL, what: string): Promise<Response> {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`cannot load ${what} from ${url.pathname} (HTTP ${r.status}): export a model there (see apps/web/README.md)`);
  return r;
}

async function load(): Promise<{ model: LoadedModel; backend: BrowserBackend }> {
  const choice = await chooseBackend(params.get('backend'));
  $('backend').textContent = choice.line;
  $('backend').title = choice.detail;
  const manifestUrl = new URL(params.get('model') ?? 'model/model.json', location.href);
  const manifest: unknown = await (await fetchBytes(manifestUrl, 'model.json')).json().catch(() => {
    throw new Error(`model.json at ${manifestUrl.pathname} is not valid JSON`);
  });
  const weights = await (await fetchBytes(new URL('model.safetensors', manifestUrl), 'model.safetensors')).arrayBuffer();
  const model = await loadModel(manifest, weights);
  const m = model.manifest;
  $('model').textContent =
    `model: ${m.preset}${m.variants.length ? ' + ' + m.variants.join(' + ') : ''}, ${m.vit.name} ${m.imageSize}×${m.imageSize}×${m.channels}, ` +
    `step ${m.step}, seed ${m.seed}, ${m.numClasses > 0 ? `${m.numClasses} classes` : 'unconditional'}`;
  if (m.numClasses > 0) {
    const select = $<HTMLSelectElement>('class');
    select.append(new Option('none (unconditional)', ''), ...Array.from({ length: m.numClasses }, (_, c) => new Option(String(c), String(c))));
    $('class-label').hidden = false;
  }
  return { model, backend: choice.name };
}

function draw(g: Generated): void {
  const [count, H, W, C] = g.shape;
  const cols = Math.ceil(Math.sqrt(count));
  const rows = Math.ceil(count / cols);
  const canvas = $<HTMLCanvasElement>('grid');
  canvas.width = cols * W;
  canvas.height = rows * H;
  canvas.style.width = `${Math.min(cols * W * 3, 800)}px`;
  const ctx = canvas.getContext('2d')!;
  const image = ctx.createImageData(canvas.width, canvas.height);
  for (let n = 0; n < count; n++) {
    const ox = (n % cols) * W;
    const oy = Math.floor(n / cols) * H;
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const src = ((n * H + y) * W + x) * C;
        const dst = ((oy + y) * canvas.width + ox + x) * 4;
        image.data[dst] = g.pixels[src];
        image.data[dst + 1] = g.pixels[src + (C === 3 ? 1 : 0)];
        image.data[dst + 2] = g.pixels[src + (C === 3 ? 2 : 0)];
        image.data[dst + 3] = 255;
      }
    }
  }
  ctx.putImageData(image, 0, 0);
}

const ready = load();
let busy: Promise<unknown> = Promise.resolve();

async function run(o: GenerateOptions): Promise<{ generated: Generated; backend: BrowserBackend }> {
  const { model, backend } = await ready;
  // One generation at a time: the button and the test share the model.
  const next = busy.then(() => generate(model, o));
  busy = next.catch(() => undefined);
  const generated = await next;
  draw(generated);
  $('timing').textContent =
    `${o.count} images, ${o.steps === 1 ? 'one step' : `${o.steps} steps`}: ${generated.ms.toFixed(0)} ms, ` +
    `${(generated.ms / o.count).toFixed(1)} ms per image (${backend})`;
  return { generated, backend };
}

function formOptions(): GenerateOptions {
  const cls = $<HTMLSelectElement>('class').value;
  return {
    seed: Number($<HTMLInputElement>('seed').value),
    count: Number($<HTMLSelectElement>('count').value),
    steps: Number($<HTMLSelectElement>('steps').value),
    classId: cls === '' ? null : Number(cls),
  };
}

window.epgDemo = {
  ready: ready.then(({ model, backend }) => ({ backend, numClasses: model.manifest.numClasses, imageSize: model.manifest.imageSize, channels: model.manifest.channels })),
  generate: async (o) => {
    const { generated, backend } = await run(o);
    return { pixels: Array.from(generated.pixels), ms: generated.ms, backend };
  },
};

const seedParam = params.get('seed');
if (seedParam !== null) $<HTMLInputElement>('seed').value = seedParam;
for (const [key, label] of [['steps', (v: string) => (v === '1' ? 'one step' : `multistep: ${v} steps`)], ['count', (v: string) => v]] as const) {
  const v = params.get(key);
  if (v === null || !/^[1-9][0-9]*$/.test(v)) continue;
  const select = $<HTMLSelectElement>(key);
  // A value the list lacks becomes an option of its own.
  if (!Array.from(select.options).some((o) => o.value === v)) select.append(new Option(label(v), v));
  select.value = v;
}

ready.then(
  () => {
    const c = params.get('class');
    if (c !== null) $<HTMLSelectElement>('class').value = c;
    $<HTMLButtonElement>('generate').disabled = false;
    $('controls').addEventListener('submit', (ev) => {
      ev.preventDefault();
      run(formOptions()).catch((e: Error) => showError(e.message));
    });
    return run(formOptions());
  },
  (e: Error) => showError(e.message),
).catch((e: Error) => showError(e.message));
