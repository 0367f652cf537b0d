/**
 * A strict unpickler for the subset of Python's pickle that `torch.save` writes (protocol 2 by
 * default; protocols 3 and 4 are read too). It never calls anything named by the file: a GLOBAL
 * opcode is looked up in the caller's allow-list and stops with an error naming the global when it
 * is not there; REDUCE / NEWOBJ / BUILD only apply the allow-list's own pure functions to plain
 * data. Why not an npm parser: docs/decisions.md, "PyTorch checkpoints".
 *
 * Python values become: None → null, bool → boolean, int → number (bigint past 2^53), float →
 * number, str → string, bytes → Uint8Array, list → array, tuple → frozen array, dict → Map (keys as
 * above, insertion order kept), set / frozenset → array, anything else → what the allow-list makes.
 */
import { epgError } from '../errors';

/** A global the allow-list accepts, and what each opcode may do with it. */
export interface AllowedGlobal {
  /** REDUCE: `f(*args)`. */
  readonly call?: (args: readonly unknown[]) => unknown;
  /** NEWOBJ: `cls.__new__(cls, *args)`. */
  readonly construct?: (args: readonly unknown[]) => unknown;
  /** The value the global itself stands for when used as data (a storage type, a dtype). */
  readonly value?: unknown;
}

export interface UnpickleHooks {
  /** The allow-list: undefined refuses the global. */
  global(module: string, name: string): AllowedGlobal | undefined;
  /** BINPERSID: the persistent id (a plain value) to the object it stands for. */
  persistentLoad(pid: unknown): unknown;
  /** BUILD on an object the allow-list made; return false to refuse. */
  build?(target: unknown, state: unknown): boolean;
}

/** A resolved global on the unpickler's stack. */
export class PyGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
    readonly allowed: AllowedGlobal,
  ) {}
  get qualified(): string {
    return `${this.module}.${this.name}`;
  }
}

/** An object of an allow-listed plain-data class (argparse.Namespace): its class and attributes. */
export class PyObject {
  constructor(
    readonly className: string,
    readonly attributes: Map<string, unknown> = new Map(),
  ) {}
}

const OPNAMES: Record<number, string> = {
  0x28: 'MARK', 0x2e: 'STOP', 0x30: 'POP', 0x31: 'POP_MARK', 0x32: 'DUP', 0x46: 'FLOAT', 0x49: 'INT', 0x4a: 'BININT',
  0x4b: 'BININT1', 0x4c: 'LONG', 0x4d: 'BININT2', 0x4e: 'NONE', 0x50: 'PERSID', 0x51: 'BINPERSID', 0x52: 'REDUCE',
  0x53: 'STRING', 0x54: 'BINSTRING', 0x55: 'SHORT_BINSTRING', 0x56: 'UNICODE', 0x58: 'BINUNICODE', 0x61: 'APPEND',
  0x62: 'BUILD', 0x63: 'GLOBAL', 0x64: 'DICT', 0x7d: 'EMPTY_DICT', 0x65: 'APPENDS', 0x67: 'GET', 0x68: 'BINGET',
  0x69: 'INST', 0x6a: 'LONG_BINGET', 0x6c: 'LIST', 0x5d: 'EMPTY_LIST', 0x6f: 'OBJ', 0x70: 'PUT', 0x71: 'BINPUT',
  0x72: 'LONG_BINPUT', 0x73: 'SETITEM', 0x74: 'TUPLE', 0x29: 'EMPTY_TUPLE', 0x75: 'SETITEMS', 0x47: 'BINFLOAT',
  0x80: 'PROTO', 0x81: 'NEWOBJ', 0x82: 'EXT1', 0x83: 'EXT2', 0x84: 'EXT4', 0x85: 'TUPLE1', 0x86: 'TUPLE2',
  0x87: 'TUPLE3', 0x88: 'NEWTRUE', 0x89: 'NEWFALSE', 0x8a: 'LONG1', 0x8b: 'LONG4', 0x42: 'BINBYTES',
  0x43: 'SHORT_BINBYTES', 0x8c: 'SHORT_BINUNICODE', 0x8d: 'BINUNICODE8', 0x8e: 'BINBYTES8', 0x8f: 'EMPTY_SET',
  0x90: 'ADDITEMS', 0x91: 'FROZENSET', 0x92: 'NEWOBJ_EX', 0x93: 'STACK_GLOBAL', 0x94: 'MEMOIZE', 0x95: 'FRAME',
  0x96: 'BYTEARRAY8', 0x97: 'NEXT_BUFFER', 0x98: 'READONLY_BUFFER',
};

/** What a value is, in Python's words, for error messages. */
export function pyTypeName(v: unknown): string {
  if (v === null || v === undefined) return 'None';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return 'number'; // int or float: both arrive as JS numbers
  if (typeof v === 'bigint') return 'int';
  if (typeof v === 'string') return 'str';
  if (v instanceof Uint8Array) return 'bytes';
  if (Array.isArray(v)) return Object.isFrozen(v) ? 'tuple' : 'list';
  if (v instanceof Map) return 'dict';
  if (v instanceof PyGlobal) return `global ${v.qualified}`;
  if (v instanceof PyObject) return v.className;
  return (v as object).constructor?.name ?? 'object';
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const latin1 = new TextDecoder('latin1');

function signedLittleEndian(b: Uint8Array): number | bigint {
  if (b.length === 0) return 0;
  let v = 0n;
  for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
  if (b[b.length - 1] & 0x80) v -= 1n << BigInt(8 * b.length);
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/**
 * Unpickles `data`; throws EpgError('format') naming the opcode and byte offset of the first thing
 * outside the subset, or the global that is not allowed. `label` names the source in messages.
 */
export function unpickle(data: Uint8Array, hooks: UnpickleHooks, label: string): unknown {
  return unpickleAt(data, 0, hooks, label).value;
}

/** Unpickles the pickle that starts at byte `start` of `data`; `end` is the byte after its STOP (pickles written one after another). */
export function unpickleAt(data: Uint8Array, start: number, hooks: UnpickleHooks, label: string): { value: unknown; end: number } {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let pos = start;
  let opPos = start;
  let op = 0;
  let stack: unknown[] = [];
  const marks: unknown[][] = [];
  const memo = new Map<number, unknown>();

  const fail = (what: string, fix = 'the file is corrupt or was not written by torch.save') =>
    epgError('format', `${label}: ${what} (pickle opcode ${OPNAMES[op] ?? `0x${op.toString(16)}`} at byte ${opPos})`, fix);
  const need = (n: number) => {
    if (!(n >= 0 && pos + n <= data.length)) throw fail(`pickle data ends after ${data.length} bytes, inside an opcode that needs ${n} more`, 'the file is truncated; re-download or re-save it');
  };
  const u8 = () => (need(1), data[pos++]);
  const u16 = () => (need(2), (pos += 2), view.getUint16(pos - 2, true));
  const u32 = () => (need(4), (pos += 4), view.getUint32(pos - 4, true));
  const i32 = () => (need(4), (pos += 4), view.getInt32(pos - 4, true));
  const u64 = () => {
    need(8);
    const v = view.getBigUint64(pos, true);
    pos += 8;
    if (v > BigInt(data.length)) throw fail(`a length of ${v} bytes exceeds the ${data.length}-byte pickle`, 'the file is truncated or corrupt');
    return Number(v);
  };
  const bytes = (n: number) => (need(n), (pos += n), data.subarray(pos - n, pos));
  const line = () => {
    const end = data.indexOf(0x0a, pos);
    if (end < 0) throw fail('a text argument has no end of line', 'the file is truncated; re-download or re-save it');
    const s = latin1.decode(data.subarray(pos, end));
    pos = end + 1;
    return s;
  };
  const str = (b: Uint8Array) => {
    try {
      return utf8.decode(b);
    } catch {
      throw fail('a string is not valid UTF-8');
    }
  };
  const pop = (): unknown => {
    if (stack.length === 0) throw fail('the stack is empty');
    return stack.pop();
  };
  const top = (): unknown => {
    if (stack.length === 0) throw fail('the stack is empty');
    return stack[stack.length - 1];
  };
  const popMark = (): unknown[] => {
    const items = stack;
    const prev = marks.pop();
    if (!prev) throw fail('no MARK to pop to');
    stack = prev;
    return items;
  };
  const getMemo = (i: number) => {
    if (!memo.has(i)) throw fail(`memo entry ${i} was never stored`);
    return memo.get(i);
  };
  const putMemo = (i: number) => memo.set(i, top());
  const tuple = (items: unknown[]) => Object.freeze(items);
  const lookup = (module: string, name: string): PyGlobal => {
    const allowed = hooks.global(module, name);
    if (!allowed) {
      throw epgError(
        'format',
        `${label}: refused global ${module}.${name} (pickle opcode ${OPNAMES[op]} at byte ${opPos}); it is not on the allow-list of a tensor checkpoint`,
        'nothing from the file was run; save only tensors and plain Python values (e.g. torch.save(model.state_dict(), path))',
      );
    }
    return new PyGlobal(module, name, allowed);
  };
  const asDict = (v: unknown): Map<unknown, unknown> => {
    if (!(v instanceof Map)) throw fail(`items set on a ${pyTypeName(v)}, not a dict`);
    return v;
  };
  const asList = (v: unknown): unknown[] => {
    if (!Array.isArray(v) || Object.isFrozen(v)) throw fail(`items appended to a ${pyTypeName(v)}, not a list`);
    return v;
  };
  const asArgs = (v: unknown): readonly unknown[] => {
    if (!Array.isArray(v)) throw fail(`call arguments are a ${pyTypeName(v)}, not a tuple`);
    return v;
  };
  const invoke = (f: (() => unknown) | undefined, what: string) => {
    if (!f) throw fail(what);
    return f();
  };

  while (pos < data.length) {
    opPos = pos;
    op = data[pos++];
    switch (op) {
      case 0x80: {
        const proto = u8();
        if (proto > 5) throw fail(`pickle protocol ${proto} is newer than 5`);
        break;
      }
      case 0x95: // FRAME: a length prefix only
        u64();
        break;
      case 0x2e: {
        if (marks.length !== 0 || stack.length !== 1) throw fail(`STOP with ${stack.length} values on the stack and ${marks.length} open MARKs`);
        return { value: stack[0], end: pos };
      }
      case 0x28:
        marks.push(stack);
        stack = [];
        break;
      case 0x30:
        pop();
        break;
      case 0x31:
        popMark();
        break;
      case 0x32:
        stack.push(top());
        break;
      case 0x71:
        putMemo(u8());
        break;
      case 0x72:
        putMemo(u32());
        break;
      case 0x94:
        putMemo(memo.size);
        break;
      case 0x68:
        stack.push(getMemo(u8()));
        break;
      case 0x6a:
        stack.push(getMemo(u32()));
        break;
      case 0x4e:
        stack.push(null);
        break;
      case 0x88:
        stack.push(true);
        break;
      case 0x89:
        stack.push(false);
        break;
      case 0x4a:
        stack.push(i32());
        break;
      case 0x4b:
        stack.push(u8());
        break;
      case 0x4d:
        stack.push(u16());
        break;
      case 0x8a:
        stack.push(signedLittleEndian(bytes(u8())));
        break;
      case 0x8b: {
        const n = u32();
        if (n > 4096) throw fail(`an integer of ${n} bytes`);
        stack.push(signedLittleEndian(bytes(n)));
        break;
      }
      case 0x47:
        need(8);
        stack.push(view.getFloat64(pos, false));
        pos += 8;
        break;
      case 0x58:
        stack.push(str(bytes(u32())));
        break;
      case 0x8c:
        stack.push(str(bytes(u8())));
        break;
      case 0x8d:
        stack.push(str(bytes(u64())));
        break;
      case 0x54: // Python 2 str: bytes shown as latin-1 text
        stack.push(latin1.decode(bytes(i32())));
        break;
      case 0x55:
        stack.push(latin1.decode(bytes(u8())));
        break;
      case 0x42:
        stack.push(bytes(u32()).slice());
        break;
      case 0x43:
        stack.push(bytes(u8()).slice());
        break;
      case 0x8e:
        stack.push(bytes(u64()).slice());
        break;
      case 0x29:
        stack.push(tuple([]));
        break;
      case 0x74: {
        const items = popMark(); // before naming `stack`: popMark replaces it
        stack.push(tuple(items));
        break;
      }
      case 0x85: {
        const a = pop();
        stack.push(tuple([a]));
        break;
      }
      case 0x86: {
        const b = pop();
        const a = pop();
        stack.push(tuple([a, b]));
        break;
      }
      case 0x87: {
        const c = pop();
        const b = pop();
        const a = pop();
        stack.push(tuple([a, b, c]));
        break;
      }
      case 0x5d:
        stack.push([]);
        break;
      case 0x61: {
        const v = pop();
        asList(top()).push(v);
        break;
      }
      case 0x65: {
        const items = popMark();
        asList(top()).push(...items);
        break;
      }
      case 0x7d:
        stack.push(new Map());
        break;
      case 0x73: {
        const v = pop();
        const k = pop();
        asDict(top()).set(k, v);
        break;
      }
      case 0x75: {
        const items = popMark();
        if (items.length % 2 !== 0) throw fail('SETITEMS with an odd number of values');
        const d = asDict(top());
        for (let i = 0; i < items.length; i += 2) d.set(items[i], items[i + 1]);
        break;
      }
      case 0x8f:
        stack.push([]);
        break;
      case 0x90: {
        const items = popMark();
        asList(top()).push(...items);
        break;
      }
      case 0x91: {
        const items = popMark();
        stack.push(tuple(items));
        break;
      }
      case 0x63: {
        const module = line();
        const name = line();
        stack.push(lookup(module, name));
        break;
      }
      case 0x93: {
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') throw fail('STACK_GLOBAL on values that are not strings');
        stack.push(lookup(module, name));
        break;
      }
      case 0x51:
        stack.push(hooks.persistentLoad(pop()));
        break;
      case 0x52: {
        const args = asArgs(pop());
        const f = pop();
        if (!(f instanceof PyGlobal)) throw fail(`REDUCE calls a ${pyTypeName(f)}`);
        stack.push(invoke(f.allowed.call && (() => f.allowed.call!(args)), `${f.qualified} may not be called`));
        break;
      }
      case 0x81: {
        const args = asArgs(pop());
        const cls = pop();
        if (!(cls instanceof PyGlobal)) throw fail(`NEWOBJ on a ${pyTypeName(cls)}`);
        stack.push(invoke(cls.allowed.construct && (() => cls.allowed.construct!(args)), `${cls.qualified} may not be constructed`));
        break;
      }
      case 0x62: {
        const state = pop();
        const target = top();
        if (!hooks.build?.(target, state)) throw fail(`BUILD (setting the state of) a ${pyTypeName(target)} is not allowed`);
        break;
      }
      default: {
        const name = OPNAMES[op];
        if (name) throw fail(`opcode ${name} is outside the subset torch.save writes`, 'save only tensors and plain Python values with torch.save (pickle protocol 2–4)');
        throw fail(`byte 0x${op.toString(16)} is not a pickle opcode`);
      }
    }
  }
  throw epgError('format', `${label}: pickle data ends after ${data.length} bytes without a STOP opcode`, 'the file is truncated; re-download or re-save it');
}
