/** The base URL put into certificates; from PKI_BASE_URL, else the listen address once known. */
export class PublicUrl {
  private url?: string;

  constructor(configured?: string) {
    this.url = configured?.replace(/\/$/, '');
  }

  get value(): string {
    if (!this.url) throw new Error('public URL is not known before the server listens');
    return this.url;
  }

  /** Called once the server listens; a configured PKI_BASE_URL wins. */
  listening(url: string): void {
    this.url ??= url;
  }
}
