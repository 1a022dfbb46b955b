/**
 * Capture ports (docs/captures.md): a shadow port whose device is net_stcapN,
 * shadowtap's own capture writer (native/dataplane/capture/). The port's
 * `capture` section says where and how it writes; this module checks what
 * the schema cannot say and turns the section into the device's devargs,
 * which is all the native side reads.
 */
import { isAbsolute, resolve } from 'node:path';

type Segment = string | number;

export const CAPTURE_DEVICE = /^net_stcap[0-9]+$/;
/** strftime conversions a capture path may use: fixed-width numbers (and %s), so the count limit can match the names. */
export const CAPTURE_CONVERSIONS = 'YmdHMSjys%';
export const CAPTURE_SNAPLEN_MAX = 65000; // ST_CAP_SNAPLEN_MAX
/** tcpdump -C counts in millions of bytes; the writer needs room for at least a header and a packet. */
export const CAPTURE_SIZE_MIN_MB = 0.001;

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** What is wrong with a capture path, or undefined. */
export function capturePathProblem(path: string): string | undefined {
  if (path.includes(',')) return `"${path}" contains ","; expected a path without commas (the device's arguments are separated by commas)`;
  const slash = path.lastIndexOf('/');
  for (let i = 0; i < path.length; i++) {
    if (path[i] !== '%') continue;
    if (i < slash) return `"${path}" has a strftime conversion in its directory; expected conversions in the file name only`;
    const c = path[i + 1];
    if (c === undefined || !CAPTURE_CONVERSIONS.includes(c)) {
      return `"${path}" uses %${c ?? ''}; expected only the conversions %Y %m %d %H %M %S %j %y %s (UTC) and %% in the file name`;
    }
    i++;
  }
  if (path.endsWith('/')) return `"${path}" names a directory; expected a file path such as shadow-%Y%m%d-%H%M%S.pcapng`;
  return undefined;
}

/** Rules on ports[i] the schema cannot say (runs on partly invalid input too). */
export function captureProblems(port: Record<string, unknown>, i: number, add: (segments: Segment[], message: string) => void): void {
  const device = port['device'];
  const ethdev = typeof device === 'string' ? device.split(',', 1)[0]! : undefined;
  const isCapDevice = ethdev !== undefined && CAPTURE_DEVICE.test(ethdev);
  const capture = port['capture'];
  if (capture === undefined) {
    if (isCapDevice) add(['ports', i, 'capture'], `missing; device ${ethdev} is shadowtap's capture writer and needs a capture section (path, and optionally rotate: { size_mb, seconds, count })`);
    return;
  }
  if (!isCapDevice) {
    add(['ports', i, 'device'], `"${String(device)}" is not a capture device; a port with a capture section expected device net_stcapN (e.g. net_stcap0)`);
  } else if (typeof device === 'string' && device !== ethdev) {
    add(['ports', i, 'device'], `"${device}" has device arguments; expected just "${ethdev}" (the capture section says where and how it writes)`);
  }
  if (port['role'] !== 'shadow') add(['ports', i, 'role'], `"${String(port['role'] ?? 'production')}" on a capture port; expected shadow (a capture port receives the shadow copies)`);
  if (!isObj(capture)) return; // the schema reports the type
  const path = capture['path'];
  if (typeof path === 'string' && path.length > 0) {
    const problem = capturePathProblem(path);
    if (problem) add(['ports', i, 'capture', 'path'], problem);
  }
  const rotate = capture['rotate'];
  if (isObj(rotate)) {
    const size = rotate['size_mb'];
    if (typeof size === 'number' && size > 0 && size < CAPTURE_SIZE_MIN_MB) {
      add(['ports', i, 'capture', 'rotate', 'size_mb'], `${size} is below ${CAPTURE_SIZE_MIN_MB} (1,000 bytes); expected 0 (no size limit) or at least ${CAPTURE_SIZE_MIN_MB}`);
    }
  }
}

export interface CaptureSection {
  readonly path: string;
  readonly snaplen: number;
  readonly ring: number;
  readonly rotate: { readonly size_mb: number; readonly seconds: number; readonly count: number };
}

/** The capture's file path: a relative one is taken from run_dir. */
export function capturePath(capture: Pick<CaptureSection, 'path'>, runDir: string): string {
  return isAbsolute(capture.path) ? capture.path : resolve(runDir, capture.path);
}

/**
 * The --vdev / hot-plug spec of a port: its device, with a capture port's
 * section as devargs (capture.h).
 */
export function deviceSpec(port: { readonly device: string; readonly capture?: CaptureSection | undefined }, runDir: string): string {
  const c = port.capture;
  if (!c) return port.device;
  const args = [
    `path=${capturePath(c, runDir)}`,
    `snaplen=${c.snaplen}`,
    `ring=${c.ring}`,
    `size=${Math.round(c.rotate.size_mb * 1e6)}`,
    `seconds=${c.rotate.seconds}`,
    `count=${c.rotate.count}`,
  ];
  return [port.device, ...args].join(',');
}
