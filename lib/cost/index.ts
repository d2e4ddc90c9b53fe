/** `s2m cost`: what a config costs a month, from its synthesized templates and a dated price table. */
export * from './assumptions';
export * from './estimate';
export * from './inventory';
export * from './prices';
export { renderDifference, renderEstimate, totalsDifference, usd } from './render';
export { estimateConfig, estimateContext, synthesizeTemplates } from './synth';
export { COST_JSON_SCHEMA_VERSION, costCommand, registerCostCommand, type CostFlags } from './cli';
