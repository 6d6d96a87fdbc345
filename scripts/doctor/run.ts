// doctor's run: the shared preflight checks (lib/preflight), which the scripts
// that change the cluster run first too.
import { Exit, type ExitCode } from '../lib/kit/errors.ts';
import { doctorFindings } from '../lib/preflight/checks.ts';
import type { DoctorContext } from './spec.ts';

export async function runDoctor(ctx: DoctorContext): Promise<ExitCode | void> {
  const { unreachable } = await doctorFindings(ctx);
  return unreachable ? Exit.unreachable : undefined;
}
