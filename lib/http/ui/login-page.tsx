/** @jsxImportSource hono/jsx */
/** Sign-in: an API key in a password field, posted once; it is never put in a URL, a log or the page. */
import { Layout, Messages, render } from "./layout.tsx";

export function renderLoginPage(p: { csrf: string; next: string; errors?: string[]; notice?: string | null }) {
  return render(
    <Layout view={null} title="Sign in" nav="login">
      <section class="card login">
        <h1>Sign in</h1>
        <Messages errors={p.errors} done={p.notice ?? null} />
        <form method="post" action="/ui/login" autocomplete="off">
          <input type="hidden" name="csrf" value={p.csrf} />
          <input type="hidden" name="next" value={p.next} />
          <label for="api_key">API key</label>
          <input id="api_key" name="api_key" type="password" required autocomplete="off" spellcheck={false} aria-describedby="key-help" />
          <p id="key-help" class="muted">
            The key from your operator (config/access.yml names whose it is). It decides what you may see and do, as in the API.
          </p>
          <button type="submit">Sign in</button>
        </form>
      </section>
    </Layout>,
  );
}
