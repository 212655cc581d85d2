import { readString, writeString } from "@aspect-runtime/guest";
export { allocate } from "@aspect-runtime/guest";

export function greet(name: usize): usize {
  return writeString("hello, " + readString(name));
}
