import { statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import type { ExpectStatic } from 'vitest';
import { withChromium } from '../src/chromium';
import type { Checkpoint } from '../src/run-document';
import { REPO_ROOT } from '../src/work-dir';

/** Where the screenshot of the finished chat goes: docs/ when asked to update it, else a temp file. */
export const SCREENSHOT = join(REPO_ROOT, 'docs/tutorial-chat.png');
const UPDATE = process.env.UPDATE_TUTORIAL_SCREENSHOT === '1';

/** The running test's `expect` (documents run concurrently: `expect.poll` needs the test's own). */
let expect: ExpectStatic;

/** The page of `name` in `room`, from `base`, once it says it is connected. */
async function openChat(browser: Browser, base: string, name: string, room?: string): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 640, height: 400 } });
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(e.message));
  await page.goto(`${base}/?name=${name}${room ? `&room=${room}` : ''}`);
  await expect
    .poll(async () => (problems.length > 0 ? problems.join('\n') : page.textContent('#state')), {
      timeout: 10_000,
    })
    .toMatch(/^connected to /);
  return page;
}

const online = async (page: Page) => (await page.locator('#online li').allTextContents()).sort();
const messages = (page: Page) => page.locator('#messages li').allTextContents();

/** Sends `text` from the page's form, as a person would. */
async function say(page: Page, text: string): Promise<void> {
  await page.fill('#text', text);
  await page.press('#text', 'Enter');
  await expect.poll(() => page.inputValue('#text')).toBe(''); // cleared once the publish was acked
}

/** Step 5 of docs/getting-started.md: two users chat on one gateway, history on reload, rooms, presence. */
const oneNode: Checkpoint = (ctx) =>
  withChromium(async (browser) => {
    // Step 2's log lines, in order.
    const log = ctx.output('gateway');
    const said = [
      '"msg":"JWT authentication on"',
      '"file":"chat/rules.json","rules":1,"msg":"channel rules on"',
    ];
    said.push(`"port":${ctx.port(8765)},"path":"/ws","backend":"memory","msg":"gateway listening"`);
    expect(said.map((s) => log.indexOf(s))).toEqual(said.map((s) => log.indexOf(s)).sort((a, b) => a - b));
    expect(said.filter((s) => !log.includes(s))).toEqual([]);
    const base = `http://localhost:${ctx.port(8080)}`;
    const ann = await openChat(browser, base, 'Ann');
    const bob = await openChat(browser, base, 'Bob');
    for (const page of [ann, bob]) await expect.poll(() => online(page)).toEqual(['Ann', 'Bob']);
    await say(ann, 'Hi Bob');
    await expect.poll(() => messages(bob)).toEqual(['Ann: Hi Bob']);
    await say(bob, 'Hi Ann');
    await expect.poll(() => messages(ann)).toEqual(['Ann: Hi Bob', 'Bob: Hi Ann']);

    // History: a reloaded page shows the conversation, once.
    await bob.reload();
    await expect.poll(() => bob.textContent('#state')).toMatch(/^connected to /);
    await expect.poll(() => messages(bob)).toEqual(['Ann: Hi Bob', 'Bob: Hi Ann']);

    // Rooms: another room has its own people and history.
    const cy = await openChat(browser, base, 'Cy', 'games');
    expect(await cy.textContent('#room')).toBe('#games');
    await expect.poll(() => online(cy)).toEqual(['Cy']);
    expect(await messages(cy)).toEqual([]);

    // Presence: a second tab of Bob lists him once; he leaves Ann's list after the grace period
    // once his pages are closed.
    const bob2 = await openChat(browser, base, 'Bob');
    await expect.poll(() => online(bob2)).toEqual(['Ann', 'Bob']);
    expect(await online(ann)).toEqual(['Ann', 'Bob']);
    await bob.close();
    await bob2.close();
    await expect.poll(() => online(ann), { timeout: 8000 }).toEqual(['Ann']);

    // A restart of the gateway (memory history): the page reconnects, cannot recover, reloads.
    await ann.evaluate(() => {
      (globalThis as unknown as { before: boolean }).before = true;
    });
    await ctx.stop('gateway');
    await ctx.start('gateway');
    await expect
      .poll(() => ann.evaluate(() => (globalThis as unknown as { before?: boolean }).before ?? 'reloaded'), {
        timeout: 10_000,
      })
      .toBe('reloaded');
    await expect.poll(() => ann.textContent('#state'), { timeout: 10_000 }).toMatch(/^connected to /);
    expect(await messages(ann)).toEqual([]);
  });

/** Step 6: two nodes on Redis behind nginx; a screenshot; the node of one user stopped mid-conversation. */
const scaled: Checkpoint = (ctx) =>
  withChromium(async (browser) => {
    const base = `http://localhost:${ctx.port(8000)}`;
    const ann = await openChat(browser, base, 'Ann');
    const bob = await openChat(browser, base, 'Bob');
    const nodeOf = async (page: Page) =>
      ((await page.textContent('#state')) ?? '').replace('connected to ', '');
    const annNode = await nodeOf(ann);
    expect(new Set([annNode, await nodeOf(bob)])).toEqual(new Set(['node-1', 'node-2']));
    for (const page of [ann, bob]) await expect.poll(() => online(page)).toEqual(['Ann', 'Bob']);

    // Across nodes, through Redis.
    await say(ann, 'Hello from node-1');
    await say(bob, 'And hello from node-2');
    const conversation = ['Ann: Hello from node-1', 'Bob: And hello from node-2'];
    await expect.poll(() => messages(ann)).toEqual(conversation);
    await expect.poll(() => messages(bob)).toEqual(conversation);
    const png = await ann.screenshot();
    writeFileSync(UPDATE ? SCREENSHOT : join(tmpdir(), `tutorial-chat-${process.pid}.png`), png);
    expect(statSync(SCREENSHOT).size).toBeLessThan(100_000);

    // Ann's node stops (Ctrl-C: it drains with 1001). Her page's next connection is held until
    // Bob has talked on, so that what she shows of it she can only have recovered.
    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    await ann.routeWebSocket(/\/ws$/, async (ws) => {
      await held;
      ws.connectToServer();
    });
    const stopping = ctx.stop(annNode);
    await expect.poll(() => ann.textContent('#state'), { timeout: 10_000 }).not.toMatch(/^connected/);
    const missed = ['one', 'two', 'three'];
    for (const text of missed) await say(bob, text);
    expect(await ann.textContent('#state')).not.toMatch(/^connected/);
    release();
    await stopping;
    await expect
      .poll(() => nodeOf(ann), { timeout: 10_000 })
      .toBe(annNode === 'node-1' ? 'node-2' : 'node-1');
    await expect.poll(() => messages(ann)).toEqual([...conversation, ...missed.map((t) => `Bob: ${t}`)]);
    // Ann is in Bob's list (her old session stays a member for the grace period while she reconnects).
    await expect.poll(() => online(bob)).toEqual(['Ann', 'Bob']);

    // The node back: the next connection goes to it (it has the fewest).
    await ctx.start(annNode);
    await new Promise((resolve) => setTimeout(resolve, 2000)); // nginx's fail_timeout for it
    const cy = await openChat(browser, base, 'Cy');
    expect(await nodeOf(cy)).toBe(annNode);
    await expect.poll(() => messages(cy)).toEqual([...conversation, ...missed.map((t) => `Bob: ${t}`)]);
  });

/** The checkpoints of docs/getting-started.md, by marker name, asserting with `testExpect` (the test's own). */
export function tutorialCheckpoints(testExpect: ExpectStatic): Record<string, Checkpoint> {
  expect = testExpect;
  return { 'one-node': oneNode, scaled };
}
