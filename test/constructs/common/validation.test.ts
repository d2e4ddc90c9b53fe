import { Lazy, Stack } from 'aws-cdk-lib/core';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { describe, expect, it } from 'vitest';
import { GeneratedSecretRotation, PublishedEndpoints, type GeneratedSecretRotationProps, type PublishedEndpointsProps } from '../../../constructs/common';
import { checkPort } from '../../../constructs/common/ports';
import { testStack } from '../../helpers/app';
import { validationErrorOf } from '../../helpers/errors';

describe('PublishedEndpoints bad input', () => {
  it.each<[string, Partial<PublishedEndpointsProps>, string]>([
    ['the prefix is not a parameter path', { parameterPrefix: 'shop/database' }, 'PublishedEndpoints: parameterPrefix must look like /app/tier (got: "shop/database")'],
    ['a key is absolute', { values: { '/writer': 'x' } }, 'PublishedEndpoints: value key must be a relative parameter name (got: "/writer")'],
    ['byPathOnly names a key it does not publish', { byPathOnly: ['reader'] }, 'PublishedEndpoints: byPathOnly names a key that is not in values (got: "reader")'],
  ])('fails when %s, naming the construct', (_, props, message) => {
    const stack = testStack();
    expect(validationErrorOf(() => new PublishedEndpoints(stack, 'Endpoints', { parameterPrefix: '/shop/database', values: { writer: 'w' }, description: 'd', ...props })))
      .toEqual({ path: 'TestStack/Endpoints', message });
  });
});

describe('GeneratedSecretRotation bad input', () => {
  it.each<[string, Partial<GeneratedSecretRotationProps>, string]>([
    ['the field is not a JSON key of plain characters', { field: 'pass word' }, 'GeneratedSecretRotation: field must be a JSON key of letters, digits, _ and - (got: "pass word")'],
    ['the length is below 16', { length: 8 }, 'GeneratedSecretRotation: length must be a whole number from 16 to 128 (got: 8)'],
  ])('fails when %s, naming the rotation', (_, props, message) => {
    const stack = testStack();
    const secret = new secretsmanager.Secret(stack, 'Secret');
    expect(validationErrorOf(() => new GeneratedSecretRotation(stack, 'Rotation', { secret, field: 'password', ...props })))
      .toEqual({ path: 'TestStack/Rotation', message });
  });
});

describe('checkPort (one port check for every construct)', () => {
  const stack: Stack = testStack();
  it.each([[0, 1], [65536, 1], [80.5, 1], [443, 1024]])('refuses %s (lowest %s), naming the prop and the construct', (port, min) => {
    expect(validationErrorOf(() => checkPort(stack, 'Thing', 'port', port, min)))
      .toEqual({ path: 'TestStack', message: `Thing: port must be a whole number from ${min} to 65535 (got: ${port})` });
  });
  it('accepts a port in range, none, or a token', () => {
    expect(() => checkPort(stack, 'Thing', 'port', 8080)).not.toThrow();
    expect(() => checkPort(stack, 'Thing', 'port', undefined)).not.toThrow();
    expect(() => checkPort(stack, 'Thing', 'port', Lazy.number({ produce: () => 0 }))).not.toThrow();
  });
});
