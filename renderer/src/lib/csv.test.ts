import { describe, expect, it } from 'vitest';
import type { PredictionItem } from './contract.ts';
import { csvField, predictionsToCsv, predictionsToText } from './csv.ts';

const probabilities = [0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.9, 0.01, 0.02];
const items: PredictionItem[] = [
  { name: 'seven.png', ok: true, digit: 7, confidence: 0.9, probabilities, input: new Uint8Array(784), doubts: [], row: [] },
  { name: 'photo, "big".jpg', ok: false, error: 'photo, "big".jpg: no digit found (the picture is blank)' },
  { name: '=HYPERLINK("x").png', ok: false, error: 'not an image' },
];

describe('predictions as CSV', () => {
  it('has a header, one row per file, and numbers for successes', () => {
    const lines = predictionsToCsv(items).split('\r\n');
    expect(lines[0]).toBe('file,digit,confidence,p0,p1,p2,p3,p4,p5,p6,p7,p8,p9,error');
    expect(lines[1]).toBe('seven.png,7,0.9000,0.0100,0.0100,0.0100,0.0100,0.0100,0.0100,0.0100,0.9000,0.0100,0.0200,');
    expect(lines).toHaveLength(5); // header, three rows, final empty line
    expect(lines[4]).toBe('');
  });

  it('quotes commas and quotes, and defuses spreadsheet formulas in file names', () => {
    const lines = predictionsToCsv(items).split('\r\n');
    expect(lines[2]).toBe('"photo, ""big"".jpg",,,,,,,,,,,,,"photo, ""big"".jpg: no digit found (the picture is blank)"');
    expect(lines[3].startsWith(`"'=HYPERLINK(""x"").png"`)).toBe(true);
    // OWASP's list: a leading -, +, @, tab or CR starts a formula too, digits after it or not.
    expect(csvField("-1+1|' /C calc'!A0")).toBe("'-1+1|' /C calc'!A0");
    expect(csvField('+1.png')).toBe("'+1.png");
    expect(csvField('@SUM(A1).png')).toBe("'@SUM(A1).png");
    expect(csvField('\t=1.png')).toBe("'\t=1.png");
    expect(csvField('\r=1.png')).toBe(`"'\r=1.png"`);
    expect(csvField('7-seven.png')).toBe('7-seven.png');
  });

  it('copies as tab-separated text', () => {
    expect(predictionsToText(items.slice(0, 2))).toBe(
      'file\tdigit\tconfidence\nseven.png\t7\t90.0%\nphoto, "big".jpg\terror\tphoto, "big".jpg: no digit found (the picture is blank)\n',
    );
  });
});
