/** @jsxImportSource hono/jsx */
/** What a refused or failed page request shows: the reason as a sentence, a way back, never a stack. */
import { Layout, render, type View } from "./layout.tsx";

export function renderErrorPage(p: { view: View | null; status: number; message: string }) {
  const title = p.status === 403 ? "Not allowed" : p.status === 404 ? "Not found" : p.status >= 500 ? "Something failed" : "Cannot do that";
  return render(
    <Layout view={p.view} title={title} nav="item">
      <section class="card">
        <h1>{title}</h1>
        <p role="alert" data-testid="error-message">{p.message}</p>
        <p>
          <a href={p.view ? `/ui?env=${encodeURIComponent(p.view.env)}` : "/ui"}>Back to the overview</a>
        </p>
      </section>
    </Layout>,
  );
}
