// The replica values scale owns: scale records the paths it set in the release's
// own values, so that a later deploy carries them forward instead of resetting
// them to the profile's. Pure.
import { getPath, setPath, type Values } from './values.ts';

/** Where scale records which replica values it set, so deploy keeps them (global is free-form in the schema). */
export const scaledMarker = 'global.todoOpsScaled';

/**
 * The values deploy carries forward from the deployed release: the replica
 * values scale set (listed under global.todoOpsScaled), unless --reset-scale.
 */
export function carriedScaleValues(deployed: Values | undefined): Values {
  const owned = getPath(deployed, scaledMarker);
  if (!Array.isArray(owned)) return {};
  let out: Values = {};
  const kept: string[] = [];
  for (const p of owned) {
    if (typeof p !== 'string') continue;
    const v = getPath(deployed, p);
    if (v === undefined) continue;
    out = setPath(out, p, v);
    kept.push(p);
  }
  return kept.length ? setPath(out, scaledMarker, kept) : {};
}
