import type { RegistrationPort } from '../../src/failover';

export type RegisterStep = 'keep' | 'release' | 'unregister' | 'clearAll';

/**
 * A registration whose IPBX answers as the test says; records every step so a
 * test can assert the order (clear-all before register, unregister before CAS).
 */
export class FakeRegistration implements RegistrationPort {
  readonly steps: RegisterStep[] = [];
  maintained = false;
  steppedDown = false;
  refuse: Partial<Record<'keep' | 'unregister' | 'clearAll', string>> = {};

  async keep() {
    this.steps.push('keep');
    if (this.refuse.keep) return { ok: false, reason: this.refuse.keep };
    this.maintained = true;
    return { ok: true };
  }

  release(): void {
    this.steps.push('release');
    this.maintained = false;
  }

  async unregister() {
    this.steps.push('unregister');
    this.maintained = false;
    return this.refuse.unregister ? { ok: false, reason: this.refuse.unregister } : { ok: true };
  }

  async clearAll() {
    this.steps.push('clearAll');
    return this.refuse.clearAll ? { ok: false, reason: this.refuse.clearAll } : { ok: true };
  }
}
