/**
 * The reference site, checked as a reader would see it: build it with typedoc, serve it on
 * localhost, open the index, the Pipe page and every guide in headless Chromium, and fail on a
 * console error, a page error, a failed or external request, or an internal link to nothing
 * (a missing page or a missing anchor). Screenshots go to docs/screenshots/.
 *
 * Chromium is Debian's package: `DEXTIO_CHROMIUM` (a path), else /usr/bin/chromium; when it is
 * missing and we are root, it is installed with apt-get. When it cannot be had, the suite skips
 * with the reason printed.
 */
import { execFile, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect } from 'chai';
import type { Browser, Page } from 'playwright-core';

const ROOT = resolve(fileURLToPath(import.meta.url), '../../..');
const SITE = join(ROOT, 'docs/site');
const SCREENSHOTS = join(ROOT, 'docs/screenshots');

/** The flags Chromium needs to start quickly on a machine with no network and no GPU. */
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

// Code run in the page. Strings, so that the tests compile without the DOM's types.
/** True once the site's script has shown the page (it hides the body until it is ready). */
const PAGE_SHOWN = `document.body.style.display !== 'none'`;
/** Every link (`a[href]`) and every resource the page refers to, as absolute URLs. */
const COLLECT_LINKS = `(() => {
  const found = [];
  for (const a of document.querySelectorAll('a[href]')) found.push({ url: a.href, isAnchor: true });
  for (const element of document.querySelectorAll('link[href], script[src], img[src], use[href]')) {
    const raw = element.getAttribute('href') ?? element.getAttribute('src');
    found.push({ url: new URL(raw, document.baseURI).href, isAnchor: false });
  }
  return found;
})()`;

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json',
};

function findChromium(): string | null {
  const candidates = [process.env['DEXTIO_CHROMIUM'], '/usr/bin/chromium', '/usr/bin/chromium-browser'];
  return candidates.find((path): path is string => !!path && existsSync(path)) ?? null;
}

/** Finds Chromium, installing Debian's package when root; returns the path or why there is none. */
function ensureChromium(): { path: string } | { reason: string } {
  const found = findChromium();
  if (found) return { path: found };
  if (process.platform !== 'linux' || process.getuid?.() !== 0 || !existsSync('/usr/bin/apt-get')) {
    return {
      reason: 'chromium is not installed, and installing it needs root and apt-get (DEXTIO_CHROMIUM names a binary)',
    };
  }
  console.log('      installing chromium with apt-get ...');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const update = spawnSync('apt-get', ['update', '-qq'], { env, encoding: 'utf8', timeout: 300_000 });
  // Without recommends, Chromium comes with no fonts: fonts-liberation gives the pages their text.
  const packages = ['chromium', 'fonts-liberation'];
  const install = spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...packages], {
    env,
    encoding: 'utf8',
    timeout: 600_000,
  });
  const installed = findChromium();
  if (installed) return { path: installed };
  const output = `${update.stderr ?? ''}${install.stderr ?? ''}`.trim().split('\n').slice(-3).join(' / ');
  return { reason: `chromium could not be installed with apt-get (exit ${install.status}): ${output}` };
}

/** Serves docs/site on an ephemeral localhost port; anything outside it is a 404. */
function serve(): Promise<Server> {
  const server = createServer((request, response) => {
    const path = decodeURIComponent(new URL(request.url ?? '/', 'http://localhost').pathname);
    const file = normalize(join(SITE, path.endsWith('/') ? `${path}index.html` : path));
    if (file !== SITE && !file.startsWith(SITE + sep)) {
      response.writeHead(403).end();
      return;
    }
    readFile(file).then(
      (body) => {
        response.writeHead(200, { 'content-type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream' });
        response.end(request.method === 'HEAD' ? undefined : body);
      },
      () => response.writeHead(404).end(),
    );
  });
  return new Promise((done) => server.listen(0, '127.0.0.1', () => done(server)));
}

interface PageVisit {
  /** Console errors, page errors, failed and external requests, HTTP errors. */
  readonly problems: string[];
  /** Every internal link and resource on the page, as absolute URLs. */
  readonly links: { readonly url: string; readonly isAnchor: boolean; readonly from: string }[];
}

describe('the documentation site in a browser', function () {
  let chromium: string;
  let server: Server;
  let origin: string;
  let browser: Browser;
  let guides: string[];
  const visits = new Map<string, PageVisit>();
  const htmlCache = new Map<string, Promise<string | null>>();

  before(async function () {
    this.timeout(20 * 60_000);
    const found = ensureChromium();
    if ('reason' in found) {
      console.log(`      skipped: ${found.reason}`);
      this.skip();
    }
    chromium = found.path;

    // Build the site from the sources as they are now; typedoc fails on any warning.
    await rm(SITE, { recursive: true, force: true });
    const typedoc = join(ROOT, 'node_modules/.bin/typedoc');
    await promisify(execFile)(typedoc, [], { cwd: ROOT, maxBuffer: 16 << 20 }).catch(
      (error: { stdout?: string; stderr?: string }) => {
        throw new Error(`typedoc failed:\n${error.stdout ?? ''}${error.stderr ?? ''}`);
      },
    );
    const config = JSON.parse(await readFile(join(ROOT, 'typedoc.json'), 'utf8')) as { projectDocuments?: string[] };
    guides = (await readdir(join(SITE, 'documents'))).filter((name) => name.endsWith('.html')).sort();
    expect(guides, 'one page per guide in typedoc.json').to.have.length(config.projectDocuments?.length ?? -1);

    await mkdir(SCREENSHOTS, { recursive: true });
    server = await serve();
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const { chromium: launcher } = await import('playwright-core');
    browser = await launcher.launch({ executablePath: chromium, headless: true, args: CHROMIUM_ARGS, timeout: 60_000 });
  });

  after(async function () {
    await browser?.close();
    await new Promise((done) => (server ? server.close(done) : done(undefined)));
  });

  /** Opens `path` in a fresh page, records what went wrong and what it links to, saves a screenshot. */
  async function visit(path: string, screenshot: string): Promise<{ visit: PageVisit; page: Page }> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
    });
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('requestfailed', (request) => {
      problems.push(`request failed: ${request.url()} (${request.failure()?.errorText})`);
    });
    page.on('response', (response) => {
      if (response.status() >= 400) problems.push(`HTTP ${response.status()}: ${response.url()}`);
    });
    // The site must render offline: anything not served from here is a problem, and never leaves.
    await page.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith(origin) || url.startsWith('data:') || url.startsWith('blob:')) return route.continue();
      problems.push(`external request: ${url}`);
      return route.abort();
    });
    const response = await page.goto(`${origin}/${path}`, { waitUntil: 'load' });
    expect(response?.status(), path).to.equal(200);
    // main.js shows the page and fills the navigation after its scripts have run.
    await page.waitForFunction(PAGE_SHOWN);
    await page.waitForSelector('#tsd-nav-container a, .tsd-navigation a', { timeout: 10_000 });
    const links = await page.evaluate<{ url: string; isAnchor: boolean }[]>(COLLECT_LINKS);
    await page.screenshot({ path: join(SCREENSHOTS, `${screenshot}.png`), fullPage: true });
    const result: PageVisit = {
      problems,
      links: links.filter((link) => link.url.startsWith(origin)).map((link) => ({ ...link, from: path })),
    };
    visits.set(path, result);
    return { visit: result, page };
  }

  function html(url: string): Promise<string | null> {
    let cached = htmlCache.get(url);
    if (!cached) {
      cached = fetch(url).then(async (response) => (response.ok ? response.text() : null));
      htmlCache.set(url, cached);
    }
    return cached;
  }

  /** Every internal link of a visited page leads to a page that exists, and to an anchor on it. */
  async function brokenLinks(visit: PageVisit): Promise<string[]> {
    const broken: string[] = [];
    for (const link of visit.links) {
      const url = new URL(link.url);
      const hash = decodeURIComponent(url.hash.slice(1));
      url.hash = '';
      const body = await html(url.href);
      if (body === null) {
        broken.push(`${link.from} -> ${link.url}: no such file`);
        continue;
      }
      const escaped = hash.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      if (link.isAnchor && hash !== '' && !new RegExp(`\\s(id|name)="${escaped}"`).test(body)) {
        broken.push(`${link.from} -> ${link.url}: no element with id '${hash}'`);
      }
    }
    return broken;
  }

  it('shows the index with a link to every guide', async function () {
    this.timeout(60_000);
    const { visit: index, page } = await visit('index.html', 'index');
    expect(index.problems).to.deep.equal([]);
    expect(await page.locator('h1').first().textContent()).to.contain('dextio');
    const linked = new Set(index.links.map((link) => new URL(link.url).pathname.replace(/^\//, '')));
    for (const guide of guides) expect(linked, `the index links to ${guide}`).to.include(`documents/${guide}`);
    expect(await brokenLinks(index)).to.deep.equal([]);
    await page.context().close();
  });

  it('shows the Pipe class with its members and example', async function () {
    this.timeout(60_000);
    // Classes are named after their module once the site has several (`_dextio_core.Pipe.html`).
    const pipePage = (await readdir(join(SITE, 'classes'))).find((name) => /(^|\.)Pipe\.html$/.test(name));
    expect(pipePage, 'a page for the Pipe class').to.be.a('string');
    const { visit: pipe, page } = await visit(`classes/${pipePage}`, 'class-Pipe');
    expect(pipe.problems).to.deep.equal([]);
    expect(await page.locator('h1').first().textContent()).to.equal('Class Pipe');
    for (const member of ['read', 'write', 'stream', 'writeFrom', 'drained', 'clearHalt', 'close']) {
      expect(await page.locator(`[id="${member.toLowerCase()}"]`).count(), `member ${member}`).to.be.greaterThan(0);
    }
    expect(await page.locator('.tsd-tag-example pre').count(), 'an example').to.be.greaterThan(0);
    expect(await brokenLinks(pipe)).to.deep.equal([]);
    await page.context().close();
  });

  it('shows every guide without errors or broken links', async function () {
    this.timeout(5 * 60_000);
    const failures: string[] = [];
    for (const guide of guides) {
      const { visit: page, page: tab } = await visit(`documents/${guide}`, `guide-${guide.replace(/\.html$/, '')}`);
      failures.push(...page.problems.map((problem) => `${guide}: ${problem}`));
      failures.push(...(await brokenLinks(page)));
      const heading = await tab.locator('.col-content h1').first().textContent();
      if (!heading?.trim()) failures.push(`${guide}: no heading`);
      const text = (await tab.locator('.col-content').first().innerText()).length;
      if (text < 1500) failures.push(`${guide}: only ${text} characters of text`);
      await tab.context().close();
    }
    expect(failures).to.deep.equal([]);
  });

  it('draws the diagram of the two paths', async function () {
    this.timeout(60_000);
    const guide = guides.find((name) => name.includes('two_paths'));
    expect(guide, 'the two-paths guide').to.be.a('string');
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    await page.goto(`${origin}/documents/${guide}`, { waitUntil: 'load' });
    const svg = page.locator('figure.dextio-diagram svg');
    await svg.waitFor({ state: 'visible', timeout: 10_000 });
    const box = await svg.boundingBox();
    expect(box?.width, 'diagram width').to.be.greaterThan(400);
    expect(box?.height, 'diagram height').to.be.greaterThan(150);
    expect(await svg.locator('text').count(), 'labels').to.be.greaterThan(20);
    await svg.screenshot({ path: join(SCREENSHOTS, 'diagram-two-paths.png') });
    await context.close();
  });
});
