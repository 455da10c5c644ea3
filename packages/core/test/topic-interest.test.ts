import { describe, expect, it } from 'vitest';
import { ChannelRegistry } from '../src/channel-registry';
import { TopicInterest } from '../src/topic-interest';
import { RecordingBackend } from './recording-backend';

describe('topic interest', () => {
  it('subscribes a topic once when first needed and unsubscribes it once when dropped', async () => {
    const backend = new RecordingBackend();
    const errors: string[] = [];
    const interest = new TopicInterest(backend, (_e, topic) => errors.push(topic));
    await interest.need('channel:a');
    await interest.need('channel:a');
    expect(interest.topicCount).toBe(1);
    expect(backend.subscribed('channel:a')).toBe(true);
    interest.drop('channel:a');
    interest.drop('channel:a');
    await interest.settled();
    expect(backend.ops).toEqual(['+channel:a', '-channel:a']);
    expect(backend.subscribed('channel:a')).toBe(false);
    expect(interest.topicCount).toBe(0);
    expect(errors).toEqual([]);
  });

  it('runs need, drop, need of one topic in order and ends subscribed', async () => {
    const backend = new RecordingBackend();
    const interest = new TopicInterest(backend, () => undefined);
    void interest.need('user:u');
    interest.drop('user:u');
    await interest.need('user:u');
    await interest.settled();
    expect(backend.ops).toEqual(['+user:u', '-user:u', '+user:u']);
    expect(backend.subscribed('user:u')).toBe(true);
    expect(interest.has('user:u')).toBe(true);
  });

  it('reports a backend failure with its topic and resolves: local delivery goes on', async () => {
    const backend = new RecordingBackend();
    backend.subscribe = async () => {
      throw new Error('broker down');
    };
    const errors: string[] = [];
    const interest = new TopicInterest(backend, (e, topic) =>
      errors.push(`${topic}: ${(e as Error).message}`),
    );
    await expect(interest.need('tenant:t')).resolves.toBeUndefined();
    expect(errors).toEqual(['tenant:t: broker down']);
    expect(interest.has('tenant:t')).toBe(true);
  });

  it('a channel needs its topic from its first subscriber until its last one leaves', async () => {
    const backend = new RecordingBackend();
    const interest = new TopicInterest(backend, () => undefined);
    const channels = new ChannelRegistry<string>(interest);
    await channels.add('news', 's1');
    await channels.add('news', 's2');
    await channels.add('news', 's2');
    expect(channels.subscriptionCount).toBe(2);
    expect(channels.subscribers('news').size).toBe(2);
    channels.remove('news', 's1');
    channels.remove('news', 's1');
    await interest.settled();
    expect(backend.subscribed('channel:news')).toBe(true);
    channels.remove('news', 's2');
    await interest.settled();
    expect(backend.ops).toEqual(['+channel:news', '-channel:news']);
    expect(channels.channelCount).toBe(0);
    expect(channels.subscriptionCount).toBe(0);
    expect(interest.topicCount).toBe(0);
  });

  it('starts an operation only after the one before it on the topic settled', async () => {
    const backend = new RecordingBackend();
    let release: () => void = () => {};
    const started: string[] = [];
    const subscribe = backend.subscribe.bind(backend);
    backend.subscribe = (topic: string) => {
      started.push(`+${topic}`);
      return new Promise<void>((resolve) => {
        release = () => void subscribe(topic).then(resolve);
      });
    };
    const unsubscribe = backend.unsubscribe.bind(backend);
    backend.unsubscribe = (topic: string) => {
      started.push(`-${topic}`);
      return unsubscribe(topic);
    };
    const interest = new TopicInterest(backend, () => undefined);
    const needed = interest.need('user:slow');
    interest.drop('user:slow');
    await new Promise((r) => setImmediate(r));
    expect(started).toEqual(['+user:slow']);
    release();
    await needed;
    await interest.settled();
    expect(started).toEqual(['+user:slow', '-user:slow']);
    expect(backend.subscribed('user:slow')).toBe(false);
  });

  it('reports a backend that throws instead of rejecting, and resolves', async () => {
    const backend = new RecordingBackend();
    backend.subscribe = () => {
      throw new Error('thrown');
    };
    const errors: string[] = [];
    const interest = new TopicInterest(backend, (e, topic) =>
      errors.push(`${topic}: ${(e as Error).message}`),
    );
    await expect(interest.need('user:x')).resolves.toBeUndefined();
    await interest.settled();
    expect(errors).toEqual(['user:x: thrown']);
  });
});
