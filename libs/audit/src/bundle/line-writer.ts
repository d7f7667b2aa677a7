import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';

/** Appends lines to a file through a 1 MiB buffer: one write call per MiB, not per line. */
export class LineWriter {
  private readonly fd: number;
  private chunks: string[] = [];
  private size = 0;

  constructor(path: string) {
    this.fd = openSync(path, 'w', 0o644);
  }

  line(record: object): void {
    this.text(JSON.stringify(record));
  }

  /** A line already written as compact JSON (no LF inside). */
  text(json: string): void {
    const text = json + '\n';
    this.chunks.push(text);
    this.size += text.length;
    if (this.size >= 1 << 20) this.flush();
  }

  close(): void {
    this.flush();
    fsyncSync(this.fd);
    closeSync(this.fd);
  }

  private flush(): void {
    if (this.chunks.length === 0) return;
    writeSync(this.fd, this.chunks.join(''));
    this.chunks = [];
    this.size = 0;
  }
}
