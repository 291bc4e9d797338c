/**
 * The licensed number of concurrent calls. A call holds a channel from the
 * INVITE until both legs are gone; past the limit the owner answers 486 so the
 * IPBX overflows the call to the other node ("all channels busy").
 */
export class ChannelGate {
  private used = 0;

  constructor(private readonly limit: number) {}

  get inUse(): number {
    return this.used;
  }

  tryAcquire(): boolean {
    if (this.used >= this.limit) return false;
    this.used += 1;
    return true;
  }

  release(): void {
    if (this.used > 0) this.used -= 1;
  }
}
