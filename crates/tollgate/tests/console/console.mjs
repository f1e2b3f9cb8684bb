// The console in a real browser: Playwright's library drives Debian's
// Chromium (headless) through what a person does, axe-core checks every
// page for accessibility, and skopeo shows that what the console did is
// real for a real registry. Run by tests/it/console.rs, which starts
// Tollgate, a Distribution registry and the accounts, and passes them in:
//
//   TOLLGATE_URL, OWNER_EMAIL, OWNER_PASSWORD, MEMBER_EMAIL, MEMBER_PASSWORD,
//   MULTI_EMAIL, MULTI_PASSWORD, MULTI_CONTRACTS (comma-separated),
//   REGISTRY_NAME (a registry made and connected beforehand, which
//   Distribution at REGISTRY_ADDRESS serves and notifies Tollgate of),
//   NEW_REGISTRY_NAME (the registry the test creates and deletes),
//   IMAGE_DIR (an OCI layout to push), SCREENSHOTS (a directory),
//   CHROMIUM (the browser binary; /usr/bin/chromium by default)
//
// Exits 0 when every step passed; otherwise prints the failed step and exits 1.

import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const base = env('TOLLGATE_URL');
const registryName = env('REGISTRY_NAME');
const newRegistryName = env('NEW_REGISTRY_NAME');
const registryAddress = env('REGISTRY_ADDRESS');
const imageDir = env('IMAGE_DIR');
const shots = env('SCREENSHOTS');
mkdirSync(shots, { recursive: true });
rmSync(join(shots, 'failure.png'), { force: true });
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const run = promisify(execFile);

let step = 'starting';
const problems = [];
let current = null; // the page a failure is shown on

function check(condition, message) {
  if (!condition) throw new Error(message);
}

/** axe-core on the page as it is: no serious or critical violation. */
async function accessible(page, name) {
  await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const results = await window.axe.run(document, { resultTypes: ['violations'] });
    return results.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(' ')).slice(0, 5) }));
  });
  for (const v of violations) console.log(`axe (${name}): ${v.impact} ${v.id}: ${v.help} at ${v.nodes.join(', ')}`);
  const grave = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  check(!grave.length, `${name}: ${grave.length} serious or critical accessibility violation(s): ${grave.map((v) => v.id).join(', ')}`);
}

async function screenshot(page, name) {
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
}

async function skopeo(args) {
  try {
    await run('skopeo', args, { timeout: 60_000 });
    return { ok: true };
  } catch (error) {
    return { ok: false, output: `${error.stderr || error.message}` };
  }
}

const push = (creds) => skopeo(['copy', '--dest-tls-verify=false', '--dest-creds', creds,
  `oci:${imageDir}:v1`, `docker://${registryAddress}/team/app:v1`]);

/** An API call made from outside the browser with the session's cookie. */
async function withCookie(cookie, csrf, path) {
  return fetch(`${base}${path}`, { headers: { Cookie: `${cookie.name}=${cookie.value}`, 'X-CSRF-Token': csrf } });
}

function watch(page) {
  page.on('pageerror', (error) => problems.push(`script error on ${page.url()}: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error' && !/status of 40[134]/.test(message.text())) {
      problems.push(`console error on ${page.url()}: ${message.text()}`);
    }
  });
}

async function signIn(page, email, password) {
  await page.getByLabel('E-mail').fill(email);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

const heading = (page, name) => page.getByRole('heading', { level: 1, name }).waitFor();

async function main() {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox'],
  });
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    const page = await context.newPage();
    current = page;
    watch(page);

    step = 'the root redirects to the sign-in page';
    await page.goto(`${base}/`);
    check(new URL(page.url()).pathname === '/console/', `/ led to ${page.url()}`);
    await heading(page, 'Sign in to Tollgate');
    await accessible(page, 'sign-in');
    await screenshot(page, 'sign-in');

    step = 'a wrong password is refused next to the form';
    await signIn(page, env('OWNER_EMAIL'), 'not the password');
    await page.getByRole('alert').filter({ hasText: 'e-mail or password is wrong' }).waitFor();

    step = 'sign in';
    await signIn(page, env('OWNER_EMAIL'), env('OWNER_PASSWORD'));
    await heading(page, 'Access tokens');
    const [cookie] = (await context.cookies()).filter((c) => c.name.endsWith('tollgate_session'));
    check(cookie && cookie.httpOnly && cookie.sameSite === 'Strict', `the session cookie is not HttpOnly and SameSite=Strict: ${JSON.stringify(cookie)}`);
    check(await page.evaluate(() => !document.cookie.includes('tollgate_session')), 'the session cookie is readable from JavaScript');
    const csrf = await (await withCookie(cookie, '', '/console/session')).json().then((s) => s.csrfToken);

    step = 'generate an access token, shown once';
    await page.getByLabel('Lifetime').selectOption({ label: '7 days' });
    await page.getByRole('button', { name: 'Generate token' }).click();
    const jwt = (await page.locator('output[aria-label="Access token"]').textContent()).trim();
    check(jwt.split('.').length === 3, `not a JWT: ${jwt.slice(0, 20)}`);
    const bearer = (path) => fetch(`${base}${path}`, { headers: { Authorization: `Bearer ${jwt}` } });
    check((await bearer('/auth/v1/tokens')).status === 200, 'the generated token does not work');
    await page.getByRole('button', { name: /^Revoke token / }).waitFor();
    check(await page.getByRole('button', { name: /^Revoke token / }).count() === 1, 'the new token is not listed once');
    await accessible(page, 'access tokens');
    await screenshot(page, 'access-tokens');

    step = 'revoke the access token';
    await page.getByRole('button', { name: 'I have stored it' }).click();
    await page.getByRole('button', { name: /^Revoke token / }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Revoke token' }).click();
    await page.getByText('You have no access tokens in this contract.').waitFor();
    check((await bearer('/auth/v1/tokens')).status === 401, 'the revoked token still works');
    await page.getByRole('button', { name: 'Delete expired tokens' }).click();

    step = 'create a registry, its name checked as it is typed';
    await page.getByRole('link', { name: 'Registries', exact: true }).click();
    await heading(page, 'Registries');
    await page.getByRole('button', { name: 'New registry' }).click();
    const name = page.getByLabel('Name', { exact: true });
    await name.fill('Not_A_Name');
    await page.getByText('Use 3 to 63 characters').waitFor();
    await name.fill(registryName);
    await page.getByText(`${registryName} is taken: choose another name.`).waitFor();
    await name.fill(newRegistryName);
    await page.getByText(`${newRegistryName} is available.`).waitFor();
    await page.getByLabel('Saturday').check();
    await page.getByLabel('Time of day (UTC)').fill('03:30');
    await page.getByLabel('Subnet allow list').fill('127.0.0.1\n10.0.0.0/8');
    await accessible(page, 'new registry');
    await page.getByRole('button', { name: 'Create registry' }).click();
    await heading(page, newRegistryName);
    await page.getByText('Saturday at 03:30 UTC').waitFor();
    await page.getByRole('link', { name: 'All registries' }).click();
    await page.getByRole('link', { name: registryName, exact: true }).click();
    await heading(page, registryName);

    step = 'create a registry token with a scope, its password shown once';
    await page.getByRole('button', { name: 'New token' }).click();
    await page.getByLabel('Name', { exact: true }).fill('ci-push');
    await page.getByLabel('Repository pattern').fill('team/*');
    await page.getByRole('checkbox', { name: 'push' }).check();
    await accessible(page, 'new registry token');
    await page.getByRole('button', { name: 'Create token' }).click();
    const password = (await page.locator('output[aria-label="Password"]').textContent()).trim();
    const login = (await page.locator('output[aria-label="Log in with"]').textContent()).trim();
    check(password.length >= 32, 'no password shown');
    check(login === `docker login ${registryName}.cr.example.test -u ci-push --password-stdin`, `docker login line: ${login}`);
    await page.getByRole('button', { name: 'Disable token ci-push' }).waitFor();
    await accessible(page, 'registry with a new token');
    await screenshot(page, 'registry-token-created');

    step = 'the token pushes to the real registry';
    const pushed = await push(`ci-push:${password}`);
    check(pushed.ok, `skopeo could not push with the new token: ${pushed.output}`);

    step = 'the password is not shown again; the push appears among the repositories';
    const deadline = Date.now() + 20_000;
    for (;;) {
      await page.reload();
      await heading(page, registryName);
      await page.getByRole('button', { name: 'Disable token ci-push' }).waitFor();
      if (await page.getByRole('button', { name: 'Artifacts of team/app' }).count()) break;
      check(Date.now() < deadline, 'the push was not reported by the registry');
      await page.waitForTimeout(300);
    }
    check(!(await page.content()).includes(password), 'the password is still on the page after a reload');
    await page.getByRole('button', { name: 'Artifacts of team/app' }).click();
    await page.getByRole('listitem').filter({ hasText: 'pulled 0×' }).waitFor();
    // Who pushed: the registry token, as the registry names it.
    await page.getByRole('row').filter({ hasText: 'team/app' }).filter({ hasText: 'ci-push' }).waitFor();
    // What the registry stores, counted from its notifications.
    const storage = await page.locator('dt', { hasText: 'Storage used' }).locator('xpath=following-sibling::dd[1]').textContent();
    check(/^\d/.test(storage) && !storage.startsWith('0 bytes'), `storage used after a push: ${storage}`);
    await accessible(page, 'registry with repositories');
    await screenshot(page, 'registry');

    step = 'change the expiry';
    await page.getByRole('button', { name: 'Change expiry of token ci-push' }).click();
    await page.getByRole('dialog').waitFor();
    await accessible(page, 'expiry dialog');
    await page.getByLabel('Expires at (your local time)').fill('2031-05-01T12:00');
    await page.getByLabel('Never expires').uncheck();
    await page.getByRole('button', { name: 'Save expiry' }).click();
    await page.getByRole('cell').filter({ hasText: '2031' }).waitFor();

    step = 'disable the token: the registry refuses it';
    await page.getByRole('button', { name: 'Disable token ci-push' }).click();
    await page.getByRole('button', { name: 'Enable token ci-push' }).waitFor();
    const refused = await push(`ci-push:${password}`);
    check(!refused.ok, 'skopeo still pushes with a disabled token');
    check(/unauthorized|denied|401|authentication required/i.test(refused.output), `skopeo failed, but not for want of authorisation: ${refused.output}`);

    step = 'delete the token';
    await page.getByRole('button', { name: 'Delete token ci-push' }).click();
    await page.getByRole('dialog').getByText(`Everything that logs in to ${registryName}.cr.example.test as ci-push`).waitFor();
    await accessible(page, 'confirmation dialog');
    await page.getByRole('dialog').getByRole('button', { name: 'Delete token' }).click();
    await page.getByText('This registry has no tokens yet.').waitFor();

    step = 'the registries list, wide and phone-width';
    await page.getByRole('link', { name: 'Registries', exact: true }).click();
    await page.getByRole('link', { name: newRegistryName }).waitFor();
    await accessible(page, 'registries');
    await screenshot(page, 'registries');
    await page.setViewportSize({ width: 390, height: 844 });
    await accessible(page, 'registries, phone width');
    await screenshot(page, 'registries-phone');
    await page.setViewportSize({ width: 1280, height: 860 });

    step = 'delete the registry, the dialog naming what is lost';
    await page.getByRole('link', { name: newRegistryName }).click();
    await heading(page, newRegistryName);
    await page.getByRole('button', { name: 'Delete registry' }).click();
    await page.getByRole('dialog').getByText('everything stored in it are lost').waitFor();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete registry' }).click();
    await heading(page, 'Registries');
    await page.getByRole('link', { name: newRegistryName }).waitFor({ state: 'detached' });
    await page.getByRole('link', { name: registryName, exact: true }).waitFor();

    step = 'sign out: the session is revoked on the server';
    check((await withCookie(cookie, csrf, '/auth/v1/tokens')).status === 200, 'the session cookie does not work before signing out');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByText('You are signed out.').waitFor();
    const after = await withCookie(cookie, csrf, '/auth/v1/tokens');
    check(after.status === 401, `the signed-out session still answers ${after.status}`);
    check((await context.cookies()).every((c) => !c.name.endsWith('tollgate_session')), 'the cookie was not removed');

    step = 'a member without the registry privilege sees registries refused, in words';
    const member = await browser.newPage();
    current = member;
    watch(member);
    await member.goto(`${base}/console/#/registries`);
    await signIn(member, env('MEMBER_EMAIL'), env('MEMBER_PASSWORD'));
    await heading(member, 'Registries');
    await member.getByRole('heading', { name: 'Registries are not available to you' }).waitFor();
    await member.getByRole('alert').filter({ hasText: 'managing registries needs the owner or admin role' }).waitFor();
    await accessible(member, 'registries refused');
    await screenshot(member, 'registries-refused');

    step = 'an account in several contracts picks one, by keyboard alone, and switches';
    const multiContext = await browser.newContext();
    const multi = await multiContext.newPage();
    current = multi;
    watch(multi);
    await multi.goto(`${base}/console/`);
    await heading(multi, 'Sign in to Tollgate');
    await multi.keyboard.type(env('MULTI_EMAIL')); // the e-mail field has the focus
    await multi.keyboard.press('Tab');
    await multi.keyboard.type(env('MULTI_PASSWORD'));
    await multi.keyboard.press('Enter');
    await heading(multi, 'Choose a contract');
    await accessible(multi, 'choose a contract');
    const [first, second] = env('MULTI_CONTRACTS').split(',');
    await multi.getByRole('button', { name: `Contract ${second}` }).focus();
    await multi.keyboard.press('Enter');
    await heading(multi, 'Access tokens');
    const contract = multi.getByLabel('Contract', { exact: true });
    check(await contract.inputValue() === second, 'the contract switch did not take');
    await contract.selectOption(first);
    await multi.getByRole('button', { name: 'Switch' }).click();
    await multi.getByRole('status').filter({ hasText: `Now acting in contract ${first}` }).waitFor({ state: 'attached' });
    check(await contract.inputValue() === first, 'switching back did not take');

    step = 'a tab whose session was replaced by a sign-in in another tab carries on';
    const other = await multiContext.newPage();
    watch(other);
    await other.goto(`${base}/console/`);
    await heading(other, 'Access tokens'); // the tabs share the cookie
    const again = await other.evaluate(async ([email, password]) => {
      const response = await fetch('/console/session', {
        method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ email, password }),
      });
      return response.status;
    }, [env('MULTI_EMAIL'), env('MULTI_PASSWORD')]);
    check(again === 201, `signing in again answered ${again}`);
    await multi.getByRole('link', { name: 'Registries', exact: true }).click();
    await heading(multi, 'Registries');
    await multi.getByRole('link', { name: registryName, exact: true }).waitFor();

    check(!problems.length, problems.join('\n'));
  } catch (error) {
    if (current) {
      const alerts = await current.getByRole('alert').allTextContents().catch(() => []);
      if (alerts.length) error.message += `\nthe page shows: ${alerts.join(' | ')}`;
      await current.screenshot({ path: join(shots, 'failure.png'), fullPage: true }).catch(() => {});
      error.message += `\n(screenshot: ${join(shots, 'failure.png')})`;
    }
    throw error;
  } finally {
    await browser.close();
  }
}

main().then(
  () => console.log('console browser test: every step passed'),
  (error) => {
    console.error(`console browser test failed at "${step}": ${error.message}`);
    if (problems.length) console.error(problems.join('\n'));
    process.exit(1);
  },
);
