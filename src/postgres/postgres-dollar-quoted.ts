/**
 * `body` between dollar quotes whose tag it does not hold: a name of the table may
 * (`orders$sse$v2`), and the body would end there.
 */
export function dollarQuoted(body: string): string {
  let tag = '$sse$';
  // The first occurrence of the tag after the opening one ends the body: it must be the closing one.
  for (let n = 1; (body + tag).indexOf(tag) !== body.length; n++) tag = `$sse${n}$`;
  return `${tag}${body}${tag}`;
}
