import { describe, expect, it } from 'vitest';
import { formatBytes, formatCount, formatDuration } from '../src/format.ts';

describe('formatCount', () => {
  it('puts a comma every three digits, for numbers and bigints', () => {
    expect(formatCount(0)).toBe('0');
    expect(formatCount(999)).toBe('999');
    expect(formatCount(1000)).toBe('1,000');
    expect(formatCount(1_234_567)).toBe('1,234,567');
    expect(formatCount(-12_345)).toBe('-12,345');
    expect(formatCount(41_210.6)).toBe('41,211');
    expect(formatCount(12_345_678_901_234_567_890n)).toBe('12,345,678,901,234,567,890');
  });
});

describe('formatBytes', () => {
  it('gives bytes under 1 KiB, then KiB, MiB, GiB and TiB with one decimal', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1023)).toBe('1,023 B');
    expect(formatBytes(1024)).toBe('1.0 KiB');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(12.34 * 1024 ** 2)).toBe('12.3 MiB');
    expect(formatBytes(1.5 * 1024 ** 3)).toBe('1.5 GiB');
    expect(formatBytes(3 * 1024 ** 4)).toBe('3.0 TiB');
    expect(formatBytes(5000 * 1024 ** 4)).toBe('5000.0 TiB');
  });

  it('never shows 1024.0 of a unit: that is 1.0 of the next', () => {
    expect(formatBytes(1024 ** 2 - 1)).toBe('1.0 MiB');
    expect(formatBytes(1024 ** 2 - 60)).toBe('1023.9 KiB');
  });
});

describe('formatDuration', () => {
  it('gives tenths under 10 s, then m:ss and h:mm:ss', () => {
    expect(formatDuration(0)).toBe('0.0 s');
    expect(formatDuration(3.449)).toBe('3.4 s');
    expect(formatDuration(9.94)).toBe('9.9 s');
    expect(formatDuration(9.96)).toBe('0:10');
    expect(formatDuration(10)).toBe('0:10');
    expect(formatDuration(754)).toBe('12:34');
    expect(formatDuration(3723)).toBe('1:02:03');
  });
});
