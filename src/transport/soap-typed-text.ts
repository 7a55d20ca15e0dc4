/**
 * How SOAP results read typed values: as the service wrote them. The soap package's
 * `customDeserializer` option, set on every loaded WSDL (wsdl-load.ts).
 */

/**
 * The schema types whose text the soap package would turn into a number, a boolean or a Date:
 * `9007199254740993` rounded, `12abc` read as `12`, `x` as `NaN`, `12.50` as `12.5`, `1` as
 * `true`, a time's offset moved to UTC and a date that is not one dropped. An IVR variable is
 * text the service wrote, so each of these is kept as written, as an XML answer over HTTP is.
 */
const TYPED_AS_TEXT = [
  'int',
  'integer',
  'short',
  'long',
  'double',
  'float',
  'decimal',
  'bool',
  'boolean',
  'dateTime',
  'date',
];

/** Keeps an element's text as written; a text the parser hands over in pieces is joined. */
const asWritten = (text: string, top: { object?: unknown }): string =>
  typeof top.object === 'string' ? top.object + text : text;

export const KEEP_TYPED_TEXT = Object.fromEntries(TYPED_AS_TEXT.map((type) => [type, asWritten]));
