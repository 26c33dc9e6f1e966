// The endpoint badges follow the client's health probe: killing a member turns its badge
// unhealthy, and restarting it turns it healthy again.
import { expect, external, test } from "./fixtures.js";

const victim = "m2";

test("killing a member turns its badge unhealthy; restarting it turns it healthy", async ({
  dashboard,
  config,
  request,
}) => {
  test.skip(external, "needs the control endpoint of e2e/server.mjs");
  const members = (config.protocols.gateway ?? []).map((e) => e.name);
  expect(members).toContain(victim);
  await dashboard.open("grpc-web");
  for (const name of members) {
    await expect(dashboard.endpoint(name)).toHaveAttribute("data-health", "healthy");
  }
  const badge = dashboard.endpoint(victim);
  await expect(badge.getByTestId("latency")).toHaveText(/\d+ ms/);
  await expect(badge.getByTestId("last-error")).toHaveText("none");

  try {
    expect((await request.post(`/__test/members/${victim}/kill`)).ok()).toBe(true);
    await expect(badge).toHaveAttribute("data-health", "unhealthy");
    await expect(badge.getByTestId("last-error")).not.toHaveText("none");
    for (const name of members.filter((n) => n !== victim)) {
      await expect(dashboard.endpoint(name)).toHaveAttribute("data-health", "healthy");
    }
    // The gateway client probes the members themselves, not through the bridge.
    await dashboard.choose("gateway");
    await expect(dashboard.endpoint(victim)).toHaveAttribute("data-health", "unhealthy");
  } finally {
    expect((await request.post(`/__test/members/${victim}/restart`)).ok()).toBe(true);
  }
  await expect(dashboard.endpoint(victim)).toHaveAttribute("data-health", "healthy");
  await dashboard.choose("grpc-web");
  await expect(badge).toHaveAttribute("data-health", "healthy");
  await expect(badge.getByTestId("last-error")).toHaveText("none");
});
