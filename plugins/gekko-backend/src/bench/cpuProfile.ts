import fs from 'node:fs';
import { Session } from 'node:inspector/promises';
import path from 'node:path';

/** One frame of a CPU profile with the share of samples spent in it (its self time). */
export interface TopFrame {
  frame: string;
  selfPercent: number;
}

interface ProfileNode {
  id: number;
  callFrame: {
    functionName: string;
    url: string;
    lineNumber: number;
  };
  hitCount?: number;
}

/**
 * Profiles this thread (the backend's event loop) while `work` runs, as `node --cpu-prof` would,
 * writes the profile to `file` (open it in Chrome DevTools) and returns the frames with the most
 * self time.
 */
export async function profileWhile<T>(
  file: string,
  work: () => Promise<T>,
  top = 15,
): Promise<{ result: T; top: TopFrame[] }> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 100 });
  await session.post('Profiler.start');
  let result: T;
  let nodes: ProfileNode[];
  try {
    result = await work();
  } finally {
    const { profile } = await session.post('Profiler.stop');
    nodes = profile.nodes as ProfileNode[];
    writeProfile(file, profile);
    session.disconnect();
  }
  return { result, top: topFrames(nodes, top) };
}

function writeProfile(file: string, profile: object) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(profile));
}

/** Self time per frame (function, file and line), most first. */
export function topFrames(nodes: ProfileNode[], top: number): TopFrame[] {
  const bySelf = new Map<string, number>();
  let total = 0;
  for (const node of nodes) {
    const hits = node.hitCount ?? 0;
    total += hits;
    const { functionName, url, lineNumber } = node.callFrame;
    const where = url
      ? `${url
          .replace(/^.*node_modules\//, '')
          .replace(/^.*\/src\//, 'src/')}:${lineNumber + 1}`
      : '';
    const frame = `${functionName || '(anonymous)'}${where ? ` ${where}` : ''}`;
    bySelf.set(frame, (bySelf.get(frame) ?? 0) + hits);
  }
  return [...bySelf.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([frame, hits]) => ({
      frame,
      selfPercent: +((100 * hits) / Math.max(1, total)).toFixed(1),
    }));
}

interface HeapNode {
  callFrame: ProfileNode['callFrame'];
  selfSize: number;
  children: HeapNode[];
}

/**
 * Samples this thread's allocations while `work` runs (V8's sampling heap profiler), writes the
 * profile to `file` (a `.heapprofile` for Chrome DevTools) and returns the frames that allocated
 * most, as a share of the bytes sampled. `kept` narrows it to what outlived the young generation:
 * `promoted` drops what scavenges freed (what is left is what they copied out of the young
 * generation, alive or freed since by a mark-compact), `live` also drops what mark-compacts freed.
 */
export async function profileAllocations<T>(
  file: string,
  work: () => Promise<T>,
  top = 15,
  kept?: 'promoted' | 'live',
): Promise<{ result: T; top: TopFrame[]; sampledBytes: number }> {
  const session = new Session();
  session.connect();
  await session.post('HeapProfiler.startSampling', {
    samplingInterval: 1024,
    includeObjectsCollectedByMajorGC: kept !== 'live',
    includeObjectsCollectedByMinorGC: !kept,
  });
  let result: T;
  let head: HeapNode;
  try {
    result = await work();
  } finally {
    const { profile } = await session.post('HeapProfiler.stopSampling');
    head = profile.head as unknown as HeapNode;
    writeProfile(file, profile);
    session.disconnect();
  }
  const nodes: ProfileNode[] = [];
  let id = 0;
  const walk = (node: HeapNode) => {
    nodes.push({
      id: id++,
      callFrame: node.callFrame,
      hitCount: node.selfSize,
    });
    node.children.forEach(walk);
  };
  walk(head!);
  const sampledBytes = nodes.reduce((sum, n) => sum + (n.hitCount ?? 0), 0);
  return { result: result!, top: topFrames(nodes, top), sampledBytes };
}
