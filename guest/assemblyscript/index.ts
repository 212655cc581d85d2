// AssemblyScript guest library for the aspect ABI, format version 1.
// See README.md beside this file; the format is abi/FORMAT.md.

export * from "./abi";
export * from "./value";
export * from "./decode";
export * from "./typed";
export * from "./builder";

/**
 * The ABI's allocator: returns a pointer to size fresh bytes. Every guest
 * must export it:  export { allocate } from "<path to this library>";
 */
export function allocate(size: i32): usize {
  if (size < 0) throw new Error("aspect abi: allocate of negative size " + size.toString());
  return heap.alloc(<usize>size);
}
