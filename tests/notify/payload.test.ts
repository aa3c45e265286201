/**
 * The notifier's message formats (lib/notify/payload.ts), pure. Owners, services and titles of alert
 * intake items come from alert labels, so the Slack text must not let them act as mrkdwn control
 * sequences: <!channel> would notify the whole channel, <https://x|y> would disguise a link.
 */
import { expect, test } from "bun:test";
import { slackMessage } from "../../lib/notify/payload.ts";
import type { Notice } from "../../lib/notify/plan.ts";

const notice = (owner: string, title: string): Notice => ({
  key: "k", fingerprint: "f", kind: "overdue", slot: 0, owner, days: 2,
  item: { id: "bl_1", env: "prod", service: "<!here>", title, priority: "P1", due_date: "2026-11-20" },
});

test("slack: the owner, service and title are escaped (&, <, >), so label text cannot mention @channel or forge a link", () => {
  const owner = "<!channel> & <https://evil.example|team-a>";
  const { text } = slackMessage(owner, [notice(owner, "<!everyone> disk <https://evil.example|full>")]);
  expect(text).not.toMatch(/<[!h]/);
  expect(text).toContain("*Backlog for &lt;!channel&gt; &amp; &lt;https://evil.example|team-a&gt;: 1 overdue*");
  expect(text).toContain("&lt;!here&gt;: &lt;!everyone&gt; disk");
});
