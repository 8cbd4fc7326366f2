import {
  executeScript,
  patchElements,
  patchSignals,
  removeElements,
  removeSignals,
} from '../../../src/datastar';
import { encodeEvent } from '../../../src/wire';

// Byte for byte, as the Datastar SDK ADR specifies: `event`, then `id`, then `retry`
// (unless 1000), then the data lines in the ADR's order; defaults are left out.
const wire = (event: ReturnType<typeof patchElements>) => encodeEvent(event);

describe('patchElements', () => {
  it('sends the elements alone when everything else is the default', () => {
    expect(wire(patchElements('<div id="a">hi</div>'))).toBe(
      'event: datastar-patch-elements\ndata: elements <div id="a">hi</div>\n\n',
    );
  });

  it('puts selector, mode, useViewTransition and namespace first, in that order', () => {
    expect(
      wire(
        patchElements('<circle id="c"/>', {
          selector: '#chart',
          mode: 'inner',
          useViewTransition: true,
          namespace: 'svg',
        }),
      ),
    ).toBe(
      'event: datastar-patch-elements\n' +
        'data: selector #chart\n' +
        'data: mode inner\n' +
        'data: useViewTransition true\n' +
        'data: namespace svg\n' +
        'data: elements <circle id="c"/>\n\n',
    );
  });

  it.each([['outer'], ['inner'], ['replace'], ['prepend'], ['append'], ['before'], ['after']] as const)(
    'mode %s: sent unless it is the default (outer)',
    (mode) => {
      const text = wire(patchElements('<p id="p"></p>', { mode }));
      if (mode === 'outer') expect(text).not.toContain('mode');
      else expect(text).toContain(`data: mode ${mode}\n`);
    },
  );

  it('leaves out useViewTransition false and namespace html', () => {
    expect(wire(patchElements('<p id="p"></p>', { useViewTransition: false, namespace: 'html' }))).toBe(
      'event: datastar-patch-elements\ndata: elements <p id="p"></p>\n\n',
    );
  });

  it('sends mathml as a namespace', () => {
    expect(wire(patchElements('<math id="m"></math>', { namespace: 'mathml' }))).toContain(
      'data: namespace mathml\n',
    );
  });

  it('sends one elements line per line of HTML, whatever the line break', () => {
    expect(wire(patchElements('<ul id="l">\n  <li>1</li>\r\n  <li>2</li>\r</ul>'))).toBe(
      'event: datastar-patch-elements\ndata: elements <ul id="l">\ndata: elements   <li>1</li>\ndata: elements   <li>2</li>\ndata: elements </ul>\n\n',
    );
  });

  it('writes id, then retry, before the data lines; retry 1000 (the default) is left out', () => {
    expect(wire(patchElements('<p id="p"></p>', { eventId: '42', retryDuration: 2500 }))).toBe(
      'event: datastar-patch-elements\nid: 42\nretry: 2500\ndata: elements <p id="p"></p>\n\n',
    );
    expect(wire(patchElements('<p id="p"></p>', { retryDuration: 1000 }))).toBe(
      'event: datastar-patch-elements\ndata: elements <p id="p"></p>\n\n',
    );
  });

  it('needs elements, except to remove by selector', () => {
    expect(() => patchElements()).toThrow(/needs elements/);
    expect(() => patchElements(undefined, { mode: 'remove' })).toThrow(/needs a selector/);
    expect(wire(patchElements(undefined, { selector: '#gone', mode: 'remove' }))).toBe(
      'event: datastar-patch-elements\ndata: selector #gone\ndata: mode remove\n\n',
    );
  });
});

describe('patchSignals', () => {
  it('serialises an object compactly on one signals line', () => {
    expect(wire(patchSignals({ count: 1, user: { name: 'ada' } }))).toBe(
      'event: datastar-patch-signals\ndata: signals {"count":1,"user":{"name":"ada"}}\n\n',
    );
  });

  it('uses a string as given, one signals line per line', () => {
    expect(wire(patchSignals('{\n  "count": 2\n}'))).toBe(
      'event: datastar-patch-signals\ndata: signals {\ndata: signals   "count": 2\ndata: signals }\n\n',
    );
  });

  it('sends onlyIfMissing first when true, and not at all when false', () => {
    expect(wire(patchSignals({ a: 1 }, { onlyIfMissing: true }))).toBe(
      'event: datastar-patch-signals\ndata: onlyIfMissing true\ndata: signals {"a":1}\n\n',
    );
    expect(wire(patchSignals({ a: 1 }, { onlyIfMissing: false }))).not.toContain('onlyIfMissing');
  });

  it('carries id and retry like any event', () => {
    expect(wire(patchSignals({ a: 1 }, { eventId: 'e1', retryDuration: 0 }))).toBe(
      'event: datastar-patch-signals\nid: e1\nretry: 0\ndata: signals {"a":1}\n\n',
    );
  });
});

describe('executeScript', () => {
  it('appends a script to body that removes itself by default', () => {
    expect(wire(executeScript('console.log(1)'))).toBe(
      'event: datastar-patch-elements\ndata: selector body\ndata: mode append\ndata: elements <script data-effect="el.remove()">console.log(1)</script>\n\n',
    );
  });

  it('keeps the script without autoRemove, and escapes attribute values', () => {
    expect(
      wire(
        executeScript('go()', {
          autoRemove: false,
          attributes: { type: 'module', 'data-x': '"><img onerror=x>&' },
        }),
      ),
    ).toBe(
      'event: datastar-patch-elements\ndata: selector body\ndata: mode append\ndata: elements <script type="module" data-x="&quot;&gt;&lt;img onerror=x&gt;&amp;">go()</script>\n\n',
    );
    expect(() => executeScript('x', { attributes: { 'bad name': 'v' } })).toThrow(
      /not a valid attribute name/,
    );
  });

  it('sends a multi-line script as several elements lines', () => {
    expect(wire(executeScript('a();\nb();', { eventId: '7' }))).toBe(
      'event: datastar-patch-elements\nid: 7\ndata: selector body\ndata: mode append\ndata: elements <script data-effect="el.remove()">a();\ndata: elements b();</script>\n\n',
    );
  });
});

describe('the shorthands', () => {
  it('removeElements(selector) is patch-elements with the selector and mode remove', () => {
    expect(wire(removeElements('#toast'))).toBe(
      'event: datastar-patch-elements\ndata: selector #toast\ndata: mode remove\n\n',
    );
  });

  it('removeSignals(paths) sets each path to null', () => {
    expect(wire(removeSignals(['user.name', 'user.email', 'count']))).toBe(
      'event: datastar-patch-signals\ndata: signals {"user":{"name":null,"email":null},"count":null}\n\n',
    );
    expect(wire(removeSignals('flag'))).toBe(
      'event: datastar-patch-signals\ndata: signals {"flag":null}\n\n',
    );
    expect(() => removeSignals('a..b')).toThrow(/not a signal path/);
  });
});
