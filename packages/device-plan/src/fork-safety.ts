/**
 * Fork safety: code from a fork's pull request never runs on a self-hosted
 * machine unless someone with write access allowed it.
 */
import type { Device, Manifest } from "@slmops/manifest";

/** True when a device's jobs run on self-hosted runners (`runs-on` includes `self-hosted`). */
export function isSelfHosted(device: Pick<Device, "runsOn">): boolean {
  return device.runsOn.some((label) => label.toLowerCase() === "self-hosted");
}

/** Who is asking, for fork safety. */
export interface Requester {
  /** True for a pull request from a fork (or a deleted one). */
  readonly fromFork: boolean;
  /** The workflow allows fork pull requests on every device (the action's `allow-forks` input). */
  readonly allowForks?: boolean;
}

/**
 * Why `device` may not run for this requester, or undefined when it may.
 * For a fork, `allow-from-forks` is read from the base branch's manifest
 * (`baseManifest`), never from the manifest the fork sent: a fork cannot
 * grant itself a machine. Without a base manifest only the call can allow it.
 */
export function refusal(device: Device, requester: Requester, baseManifest: Manifest | undefined): string | undefined {
  if (!requester.fromFork || !isSelfHosted(device) || requester.allowForks === true) return undefined;
  const trusted = baseManifest?.devices.find((d) => d.id === device.id);
  if (trusted?.allowFromForks === true) return undefined;
  const why = baseManifest && !trusted ? " (the device is new in this pull request)" : "";
  return (
    `self-hosted runner (${device.runsOn.join(", ")}) refused for a pull request from a fork${why}: ` +
    "its code is untrusted. To run it anyway, set `allow-from-forks: true` on the device in the base branch's manifest, " +
    "or `allow-forks: true` on the plan step"
  );
}
