export * from './linear.js';
export * from './elementwise.js';
export * from './layernorm.js';
export * from './attention.js';
export * from './embedding.js';
export * from './loss.js';
