// The drill's report: its timeline picture and its markdown, and the terminal table of several drills.
export { renderTimelineSvg, escapeXml } from './timeline-svg.mjs'
export { renderDrillMarkdown, renderDrillTable, formatValue, MAX_LISTED_IDS } from './report-markdown.mjs'

/** @typedef {import('./timeline-svg.mjs').TimelineMark} TimelineMark */
/** @typedef {import('./timeline-svg.mjs').TimelineOptions} TimelineOptions */
/** @typedef {import('./report-markdown.mjs').DrillReport} DrillReport */
/** @typedef {import('./report-markdown.mjs').DrillVerification} DrillVerification */
