/**
 * speedscope's file format (https://www.speedscope.app/file-format-schema.json): shared frames and
 * `sampled` (stacks root first + weights) or `evented` (open/close events) profiles. All profiles in
 * the file are merged unless `profileIndex` picks one. Frame kinds are inferred from names; frames
 * written by our exporter carry their kind in the frame object (`"kind"`, ignored by speedscope).
 */
import type { FrameKind, Profile, ProfileMeta, Unit } from '../model/types.js';
import { ProfileBuilder } from '../model/builder.js';
import { inferKind, isFrameKind } from '../model/kinds.js';
import { ImportError } from './errors.js';

export interface SpeedscopeImportOptions {
  profileIndex?: number;
  meta?: ProfileMeta;
  fileName?: string;
}

const UNIT_SCALE: Record<string, [Unit, number]> = {
  none: ['samples', 1],
  nanoseconds: ['nanoseconds', 1],
  microseconds: ['microseconds', 1],
  milliseconds: ['milliseconds', 1],
  seconds: ['milliseconds', 1000],
  bytes: ['bytes', 1],
};

function isObj(v: unknown): v is Record<string, any> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function importSpeedscope(input: string | unknown, opts: SpeedscopeImportOptions = {}): Profile {
  let doc: unknown = input;
  if (typeof input === 'string') {
    try {
      doc = JSON.parse(input);
    } catch (e) {
      throw new ImportError('speedscope', `not valid JSON (${(e as Error).message})`);
    }
  }
  if (!isObj(doc)) throw new ImportError('speedscope', 'expected a JSON object with "shared" and "profiles"');
  if (!isObj(doc.shared) || !Array.isArray(doc.shared.frames)) throw new ImportError('speedscope', 'missing "shared.frames" array');
  if (!Array.isArray(doc.profiles) || doc.profiles.length === 0) throw new ImportError('speedscope', 'missing or empty "profiles" array');
  const sframes = doc.shared.frames as unknown[];
  const fr: { name: string; kind: FrameKind }[] = sframes.map((f, i) => {
    if (!isObj(f) || typeof f.name !== 'string') throw new ImportError('speedscope', `shared.frames[${i}] must be an object with a string "name"`);
    return { name: f.name, kind: isFrameKind(f.kind) ? f.kind : inferKind(f.name) };
  });
  let profiles = doc.profiles as unknown[];
  if (opts.profileIndex !== undefined) {
    const p = profiles[opts.profileIndex];
    if (!p) throw new ImportError('speedscope', `profileIndex ${opts.profileIndex} out of range (the file has ${profiles.length} profiles)`);
    profiles = [p];
  }
  let unit: Unit | undefined;
  let scale = 1;
  for (let i = 0; i < profiles.length; i++) {
    const p = profiles[i];
    if (!isObj(p)) throw new ImportError('speedscope', `profiles[${i}] must be an object`);
    const us = UNIT_SCALE[p.unit as string];
    if (!us)
      throw new ImportError('speedscope', `profiles[${i}].unit ${JSON.stringify(p.unit)} is not a speedscope unit (${Object.keys(UNIT_SCALE).join(', ')})`);
    if (unit === undefined) [unit, scale] = us;
    else if (unit !== us[0] || scale !== us[1])
      throw new ImportError('speedscope', `profiles[${i}] has unit ${p.unit}, unlike the first profile; import one with profileIndex`);
  }
  const b = new ProfileBuilder(unit!, {
    tool: 'import',
    ...(typeof doc.name === 'string' ? { name: doc.name } : {}),
    ...opts.meta,
    source: { format: 'speedscope', ...(opts.fileName ? { fileName: opts.fileName } : {}) },
  });
  const ids = fr.map((f) => b.frameId(f.name, f.kind));
  const frameRef = (v: unknown, where: string): number => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v >= ids.length)
      throw new ImportError('speedscope', `${where} = ${JSON.stringify(v)} is not an index into shared.frames (0..${ids.length - 1})`);
    return ids[v];
  };
  profiles.forEach((p0, pi) => {
    const p = p0 as Record<string, any>;
    if (p.type === 'sampled') {
      if (!Array.isArray(p.samples) || !Array.isArray(p.weights) || p.samples.length !== p.weights.length)
        throw new ImportError('speedscope', `profiles[${pi}]: a sampled profile needs "samples" and "weights" arrays of the same length`);
      p.samples.forEach((st: unknown, si: number) => {
        if (!Array.isArray(st)) throw new ImportError('speedscope', `profiles[${pi}].samples[${si}] must be an array of frame indices`);
        const w = p.weights[si];
        if (typeof w !== 'number' || !(w >= 0)) throw new ImportError('speedscope', `profiles[${pi}].weights[${si}] must be a number >= 0`);
        b.addStackIds(
          st.map((f, k) => frameRef(f, `profiles[${pi}].samples[${si}][${k}]`)),
          w * scale,
        );
      });
    } else if (p.type === 'evented') {
      if (!Array.isArray(p.events)) throw new ImportError('speedscope', `profiles[${pi}]: an evented profile needs an "events" array`);
      const stack: number[] = [];
      let last = typeof p.startValue === 'number' ? p.startValue : undefined;
      p.events.forEach((ev: unknown, ei: number) => {
        if (!isObj(ev) || (ev.type !== 'O' && ev.type !== 'C') || typeof ev.at !== 'number')
          throw new ImportError('speedscope', `profiles[${pi}].events[${ei}] must be {type: "O"|"C", at: number, frame: index}`);
        const f = frameRef(ev.frame, `profiles[${pi}].events[${ei}].frame`);
        if (last !== undefined && ev.at < last) throw new ImportError('speedscope', `profiles[${pi}].events[${ei}] goes back in time (at ${ev.at} < ${last})`);
        if (last !== undefined && stack.length > 0 && ev.at > last) b.addStackIds(stack, (ev.at - last) * scale);
        last = ev.at;
        if (ev.type === 'O') stack.push(f);
        else {
          if (stack.length === 0 || stack[stack.length - 1] !== f)
            throw new ImportError('speedscope', `profiles[${pi}].events[${ei}] closes frame ${ev.frame}, which is not the innermost open frame`);
          stack.pop();
        }
      });
      if (stack.length > 0) throw new ImportError('speedscope', `profiles[${pi}] ends with ${stack.length} frames still open`);
    } else {
      throw new ImportError('speedscope', `profiles[${pi}].type ${JSON.stringify(p.type)} is not "sampled" or "evented"`);
    }
  });
  return b.build();
}
